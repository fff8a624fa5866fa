package main

import (
	"reflect"
	"testing"
)

func TestRunTTY(t *testing.T) {
	tests := []struct {
		name                                            string
		force, noTTY, detach, interactive, inTerm, both bool
		want                                            bool
		wantErr                                         bool
	}{
		{"terminals", false, false, false, true, true, true, true, false},
		{"no terminal", false, false, false, true, false, false, false, false},
		{"stdin only", false, false, false, true, true, false, false, false},
		{"-T", false, true, false, true, true, true, false, false},
		{"detached", false, false, true, true, true, true, false, false},
		{"-t with terminal", true, false, false, true, true, false, true, false},
		{"-t without terminal", true, false, false, true, false, false, false, true},
		{"-t -i=false without terminal", true, false, false, false, false, false, true, false},
		{"-t detached", true, false, true, true, false, false, true, false},
	}
	for _, tt := range tests {
		got, err := runTTY(tt.force, tt.noTTY, tt.detach, tt.interactive, tt.inTerm, tt.both)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: %v, %v; want %v (error %v)", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRunEntrypoint(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{"", []string{}, ""},
		{"sh -c 'echo hi'", []string{"sh", "-c", "echo hi"}, ""},
		{"sh 'open", nil, `--entrypoint "sh 'open": invalid command line string`},
	}
	for _, tt := range tests {
		got, err := runEntrypoint(tt.in)
		if errString(err) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %#v, %v; want %#v, %q", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
