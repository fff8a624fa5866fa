// Command sshagentls lists the keys of the SSH agent at $SSH_AUTH_SOCK
// (or the socket given as its argument), like `ssh-add -l`: one line per
// key, "<key type> <comment>". It speaks the agent protocol
// (draft-miller-ssh-agent: SSH_AGENTC_REQUEST_IDENTITIES) with the
// standard library only. Exit 2: no agent; 1: a protocol error.
package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
)

const (
	requestIdentities = 11
	identitiesAnswer  = 12
)

func main() {
	sock := os.Getenv("SSH_AUTH_SOCK")
	if len(os.Args) > 1 {
		sock = os.Args[1]
	}
	if sock == "" {
		fmt.Fprintln(os.Stderr, "sshagentls: SSH_AUTH_SOCK is not set")
		os.Exit(2)
	}
	c, err := net.Dial("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshagentls:", err)
		os.Exit(2)
	}
	defer c.Close()
	keys, err := list(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sshagentls:", err)
		os.Exit(1)
	}
	for _, k := range keys {
		fmt.Println(k)
	}
}

func list(c io.ReadWriter) ([]string, error) {
	if _, err := c.Write([]byte{0, 0, 0, 1, requestIdentities}); err != nil {
		return nil, err
	}
	var n uint32
	if err := binary.Read(c, binary.BigEndian, &n); err != nil {
		return nil, err
	}
	if n > 1<<20 {
		return nil, errors.New("answer too large")
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(c, msg); err != nil {
		return nil, err
	}
	if len(msg) < 5 || msg[0] != identitiesAnswer {
		return nil, fmt.Errorf("unexpected answer type %d", msg[0])
	}
	count := binary.BigEndian.Uint32(msg[1:5])
	rest := msg[5:]
	var out []string
	for i := uint32(0); i < count; i++ {
		blob, r, err := str(rest)
		if err != nil {
			return nil, err
		}
		comment, r, err := str(r)
		if err != nil {
			return nil, err
		}
		rest = r
		typ, _, err := str(blob)
		if err != nil {
			return nil, err
		}
		out = append(out, string(typ)+" "+string(comment))
	}
	return out, nil
}

// str reads an SSH string (uint32 length, bytes).
func str(b []byte) ([]byte, []byte, error) {
	if len(b) < 4 {
		return nil, nil, errors.New("short message")
	}
	n := binary.BigEndian.Uint32(b)
	if uint32(len(b)-4) < n {
		return nil, nil, errors.New("short message")
	}
	return b[4 : 4+n], b[4+n:], nil
}
