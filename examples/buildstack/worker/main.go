// Command worker asks the api ($API_URL) every $INTERVAL and logs the
// answer, one line per call, until SIGTERM.
package main

import (
	"context"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

var version = "dev" // set with -ldflags -X main.version=...

func main() {
	url := os.Getenv("API_URL")
	if url == "" {
		url = "http://api:8080/"
	}
	every, err := time.ParseDuration(os.Getenv("INTERVAL"))
	if err != nil || every <= 0 {
		every = 2 * time.Second
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	log.SetFlags(0)
	log.Printf("worker %s asking %s every %s", version, url, every)
	client := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		ask(ctx, client, url)
		select {
		case <-ctx.Done():
			log.Print("worker stopped")
			return
		case <-tick.C:
		}
	}
}

func ask(ctx context.Context, client *http.Client, url string) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		log.Printf("api: %v", err)
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		log.Printf("api: %v", err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	log.Printf("api %s: %s", resp.Status, strings.TrimSpace(string(body)))
}
