// Package logs writes and reads container logs in Docker's json-file
// format: one JSON object per line with the text, the stream and the time,
// rotated by size. The supervisor writes them; `logs` and attached `up`
// read and merge them by time.
//
// It imports no berth package and must import none: the supervisor writes
// with it and the engine reads with it.
package logs
