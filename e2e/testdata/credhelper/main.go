// Command docker-credential-berthtest is a credential helper for the e2e
// tests: it speaks Docker's helper protocol (store, get, erase, list) and
// keeps credentials in the JSON file $BERTHTEST_CRED_FILE, appending each
// action it is asked for to $BERTHTEST_CRED_FILE.log.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

type creds struct {
	ServerURL string
	Username  string
	Secret    string
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: docker-credential-berthtest store|get|erase|list")
		os.Exit(1)
	}
	file := os.Getenv("BERTHTEST_CRED_FILE")
	action := os.Args[1]
	logf, err := os.OpenFile(file+".log", os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fail(err)
	}
	fmt.Fprintln(logf, action)
	logf.Close()
	all := map[string]creds{}
	if b, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(b, &all)
	}
	in, _ := io.ReadAll(os.Stdin)
	switch action {
	case "store":
		var c creds
		if err := json.Unmarshal(in, &c); err != nil {
			fail(err)
		}
		all[c.ServerURL] = c
	case "get":
		c, ok := all[strings.TrimSpace(string(in))]
		if !ok {
			fmt.Print("credentials not found in native keychain")
			os.Exit(1)
		}
		_ = json.NewEncoder(os.Stdout).Encode(c)
		return
	case "erase":
		delete(all, strings.TrimSpace(string(in)))
	case "list":
		out := map[string]string{}
		for k, c := range all {
			out[k] = c.Username
		}
		_ = json.NewEncoder(os.Stdout).Encode(out)
		return
	default:
		fail(fmt.Errorf("unknown action %q", action))
	}
	b, _ := json.Marshal(all)
	if err := os.WriteFile(file, b, 0o600); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Println(err)
	os.Exit(1)
}
