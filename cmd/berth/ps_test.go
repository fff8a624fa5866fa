package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/berth-dev/berth/engine"
)

func psList() []engine.ContainerSummary {
	return []engine.ContainerSummary{
		{ID: "id1", Name: "shop-web-1", Image: "nginx", Command: `"nginx -g 'daemon off;'"`, Service: "web", State: "running", Status: "Up 2 minutes", RunningFor: "3 minutes ago",
			Publishers: []engine.Publisher{{URL: "0.0.0.0", TargetPort: 80, PublishedPort: 8080, Protocol: "tcp"}}},
		{ID: "id2", Name: "shop-web-2", Image: "nginx", Command: `"sh"`, Service: "web", State: "exited", Status: "Exited (0)"},
		{ID: "id3", Name: "shop-db-1", Image: "pg", Command: `"postgres"`, Service: "db", State: "running", Status: "Up"},
	}
}

func TestPrintPs(t *testing.T) {
	tests := []struct {
		name string
		o    psOptions
		want string
	}{
		{"quiet", psOptions{quiet: true, services: true}, "id1\nid2\nid3\n"},
		{"services", psOptions{services: true}, "web\ndb\n"},
		{"template", psOptions{format: "{{.Names}} {{.State}} {{.Ports}}"}, "shop-web-1 running 0.0.0.0:8080->80/tcp\nshop-web-2 exited \nshop-db-1 running \n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printPs(&b, psList(), tt.o); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%s:\n%q\nwant\n%q", tt.name, b.String(), tt.want)
		}
	}
	for _, format := range []string{"", "table"} {
		var b bytes.Buffer
		if err := printPs(&b, psList(), psOptions{format: format}); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
		if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "   PORTS") {
			t.Fatalf("table %q:\n%s", format, b.String())
		}
		if !strings.Contains(lines[1], `"nginx -g 'daemon off…"`) || !strings.HasSuffix(lines[1], "0.0.0.0:8080->80/tcp") {
			t.Errorf("table row: %q", lines[1])
		}
	}
	var b bytes.Buffer
	if err := printPs(&b, psList(), psOptions{format: "table", noTrunc: true}); err != nil || !strings.Contains(b.String(), `"nginx -g 'daemon off;'"`) {
		t.Errorf("--no-trunc: %v\n%s", err, b.String())
	}
	b.Reset()
	if err := printPs(&b, psList()[1:2], psOptions{format: "json"}); err != nil || !strings.Contains(b.String(), `"Publishers":[]`) || strings.Count(b.String(), "\n") != 1 {
		t.Errorf("json: %v\n%s", err, b.String())
	}
}

func TestKeepContainers(t *testing.T) {
	got := keepContainers(psList(), func(c engine.ContainerSummary) bool { return contains([]string{"running"}, c.State) })
	if len(got) != 2 || got[0].ID != "id1" || got[1].ID != "id3" {
		t.Errorf("running: %+v", got)
	}
}
