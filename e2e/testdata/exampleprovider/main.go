// Command example-provider is the e2e suite's stand-in for Docker
// Compose's docs/examples/provider.go: a provider service's program, as
// berth runs it (`example-provider compose --project-name=P up --name=N
// --type=T --size=S SERVICE`). It answers with the protocol's JSON lines.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	args := os.Args[1:]
	if len(args) < 2 || args[0] != "compose" {
		fmt.Fprintln(os.Stderr, "usage: example-provider compose [--project-name=P] up|down|stop [--k=v…] SERVICE")
		os.Exit(2)
	}
	var command, service string
	flags := map[string]string{}
	for _, a := range args[1:] {
		switch {
		case strings.HasPrefix(a, "--"):
			k, v, _ := strings.Cut(a[2:], "=")
			flags[k] = v
		case command == "":
			command = a
		default:
			service = a
		}
	}
	if service == "" {
		fmt.Fprintln(os.Stderr, "example-provider: no service named")
		os.Exit(2)
	}
	switch command {
	case "up":
		if flags["type"] == "" || flags["name"] == "" {
			fmt.Println(`{"type": "error", "message": "--type and --name are required"}`)
			return
		}
		size, _ := strconv.Atoi(flags["size"])
		fmt.Printf(`{"type": "debug", "message": "Starting %s"}`+"\n", service)
		for i := 0; i < size; i += 10 {
			fmt.Printf(`{"type": "info", "message": "Processing ... %d%%"}`+"\n", i*100/size)
		}
		fmt.Printf(`{"type": "setenv", "message": "URL=https://magic.cloud/%s"}`+"\n", service)
		fmt.Println(`{"type": "rawsetenv", "message": "CLOUD_REGION=us-east-1"}`)
	case "down":
		if os.Getenv("PROVIDER_DOWN_FAILURE") != "" {
			fmt.Println(`{"type": "error", "message": "Permission error"}`)
			return
		}
		fmt.Println(`{"type": "info", "message": "Resource removed"}`)
	case "stop":
		if marker := os.Getenv("PROVIDER_STOP_MARKER"); marker != "" {
			_ = os.WriteFile(marker, []byte("stopped"), 0o600)
		}
	default:
		fmt.Fprintf(os.Stderr, "example-provider: unknown command %q\n", command)
		os.Exit(2)
	}
}
