package main

import (
	"strings"
	"testing"
)

func TestFormatRows(t *testing.T) {
	type row struct {
		Name, State string
		RunningFor  string
	}
	rows := []row{{"a-1", "running", "2 seconds ago"}, {"bb-1", "exited", "1 hour ago"}}
	var b strings.Builder
	if err := formatRows(&b, `table {{.Name}}\t{{.RunningFor}}`, rows, map[string]string{"RunningFor": "CREATED"}); err != nil {
		t.Fatal(err)
	}
	want := "NAME   CREATED\na-1    2 seconds ago\nbb-1   1 hour ago\n"
	if b.String() != want {
		t.Errorf("table:\n%q\nwant\n%q", b.String(), want)
	}
	b.Reset()
	if err := formatRows(&b, `{{.Name}}:{{.State}}`, rows, nil); err != nil {
		t.Fatal(err)
	}
	if b.String() != "a-1:running\nbb-1:exited\n" {
		t.Errorf("plain: %q", b.String())
	}
	if err := formatRows(&b, `{{.Name`, rows, nil); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("a bad template: err = %v", err)
	}
}
