// Command tcpecho is a test helper baked into berth's test images: it echoes
// back whatever it receives, over TCP and UDP, on $PORT (default 9000).
// Each connection (TCP) or datagram (UDP) is logged as one line on stdout.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "9000"
	}
	addr := ":" + port
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		log.Fatalf("tcpecho: %v", err)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatalf("tcpecho: %v", err)
	}
	fmt.Printf("tcpecho listening on %s (tcp and udp)\n", addr)
	go serveUDP(pc)
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatalf("tcpecho: accept: %v", err)
		}
		go func() {
			defer c.Close()
			n, _ := io.Copy(c, c)
			fmt.Printf("tcp %s %d bytes\n", c.RemoteAddr(), n)
		}()
	}
}

func serveUDP(pc net.PacketConn) {
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			log.Fatalf("tcpecho: udp: %v", err)
		}
		if _, err := pc.WriteTo(buf[:n], from); err != nil {
			fmt.Printf("udp %s write: %v\n", from, err)
			continue
		}
		fmt.Printf("udp %s %d bytes\n", from, n)
	}
}
