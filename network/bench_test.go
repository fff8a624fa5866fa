package network

import (
	"context"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/berth-dev/berth/internal/testutil"
	"github.com/berth-dev/berth/network/nft"
	"github.com/berth-dev/berth/network/portmap"
)

// BenchmarkAttach measures what one container costs: its netns (lo up)
// and a veth on the bridge with its address and default route.
func BenchmarkAttach(b *testing.B) {
	testutil.RequiresRoot(b)
	run := b.TempDir()
	n := mkNet(b, nil, 20, false)
	ctx := context.Background()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(run, fmt.Sprintf("bt%d", i))
		a := Attachment{NetnsPath: path, Bridge: n.bridge, IfName: "eth0", HostIfName: "btv" + rnd(),
			Address: &net.IPNet{IP: n.ip(2), Mask: n.subnet.Mask}, Gateway: n.gateway, DefaultRoute: true}
		if err := CreateNetns(path); err != nil {
			b.Fatal(err)
		}
		if err := Attach(ctx, a); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := Detach(ctx, a); err != nil {
			b.Fatal(err)
		}
		if err := DeleteNetns(path); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkTCPThroughput sends a fixed 16 MiB per connection from the host
// to a sink in a container netns, directly to the container's address and
// through a published port (kernel DNAT) on 127.0.0.1 and on a host
// address. Compare the MB/s columns.
func BenchmarkTCPThroughput(b *testing.B) {
	testutil.RequiresRoot(b)
	run := b.TempDir()
	fw := testFirewall(b)
	n := mkNet(b, fw, 21, false)
	path, _ := mkContainer(b, run, n, 2, true)
	var ln net.Listener
	if err := inNetns(path, func() (err error) {
		ln, err = net.Listen("tcp4", n.ip(2).String()+":9000")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	port, err := RandomPort(nil, "tcp")
	if err != nil {
		b.Fatal(err)
	}
	cp := nft.ContainerPorts{ContainerID: "btbench", Bridge: n.bridge, ContainerIP: n.ip(2),
		Ports: []portmap.Binding{{HostPort: port, ContainerPort: 9000, Protocol: portmap.TCP}}}
	if err := fw.AddPorts(cp); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { fw.RemovePorts(cp.ContainerID) })

	// 256 MiB per transfer: long enough that connection setup and slow
	// start do not weigh; the three paths take turns in each iteration so
	// that the machine's drift hits them alike; medians and the ratios
	// to the direct path are reported.
	const size = 256 << 20
	buf := make([]byte, 256<<10)
	paths := []struct{ name, addr string }{
		{"direct", n.ip(2).String() + ":9000"},
		{"dnat-loopback", fmt.Sprintf("127.0.0.1:%d", port)},
		{"dnat-hostaddr", fmt.Sprintf("%s:%d", n.gateway, port)},
	}
	send := func(addr string) time.Duration {
		start := time.Now()
		c, err := net.Dial("tcp4", addr)
		if err != nil {
			b.Fatal(err)
		}
		for sent := 0; sent < size; sent += len(buf) {
			if _, err := c.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		// Wait for the sink to have read everything.
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
		return time.Since(start)
	}
	times := make([][]time.Duration, len(paths))
	for b.Loop() {
		for i, p := range paths {
			times[i] = append(times[i], send(p.addr))
		}
	}
	mbps := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(size) / (1 << 20) / s[len(s)/2].Seconds()
	}
	direct := mbps(times[0])
	b.ReportMetric(direct, "direct-MiB/s")
	for i, p := range paths[1:] {
		v := mbps(times[i+1])
		b.ReportMetric(v, p.name+"-MiB/s")
		b.ReportMetric(v/direct, p.name+"/direct")
	}
}
