package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine"
)

// TestPushProgress: off a terminal, one line per layer status as docker
// push prints them (Mounted from REPO included); on one, a block with a
// bar per uploading layer.
func TestPushProgress(t *testing.T) {
	var plain bytes.Buffer
	p := newPushProgress(&plain, false, false, false)
	p.add("127.0.0.1:5000/app:1")
	img := "127.0.0.1:5000/app:1"
	for _, e := range []engine.ImageEvent{
		{Image: img, Layer: "aaaaaaaaaaaa", Status: engine.ImageStatusPreparing},
		{Image: img, Layer: "aaaaaaaaaaaa", Status: engine.ImageStatusPushing, Current: 1, Total: 10},
		{Image: img, Layer: "aaaaaaaaaaaa", Status: engine.ImageStatusPushing, Current: 5, Total: 10},
		{Image: img, Layer: "aaaaaaaaaaaa", Status: engine.ImageStatusPushed},
		{Image: img, Layer: "bbbbbbbbbbbb", Status: engine.ImageStatusMounted, From: "team/base"},
		{Image: img, Layer: "cccccccccccc", Status: engine.ImageStatusLayerExists},
	} {
		p.event(e)
	}
	want := "aaaaaaaaaaaa: Preparing\naaaaaaaaaaaa: Pushing\naaaaaaaaaaaa: Pushed\nbbbbbbbbbbbb: Mounted from team/base\ncccccccccccc: Layer already exists\n"
	if plain.String() != want {
		t.Errorf("plain:\n%s\nwant:\n%s", plain.String(), want)
	}

	var tty bytes.Buffer
	p = newPushProgress(&tty, true, false, true)
	p.add(img)
	p.event(engine.ImageEvent{Image: img, Layer: "aaaaaaaaaaaa", Status: engine.ImageStatusPushing, Current: 5 << 20, Total: 10 << 20})
	p.redraw()
	out := tty.String()
	if !strings.Contains(out, "[+] Pushing 0/1") || !strings.Contains(out, "aaaaaaaaaaaa: Pushing [=========>") || !strings.Contains(out, "5.243MB/10.49MB") {
		t.Errorf("tty:\n%q", out)
	}
}
