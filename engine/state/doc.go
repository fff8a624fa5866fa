// Package state keeps berth's on-disk records: atomic writes (temp file + rename) and cross-process locks (flock).
package state
