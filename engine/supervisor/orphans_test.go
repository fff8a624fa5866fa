package supervisor

import "testing"

func TestParseProcStat(t *testing.T) {
	st, err := parseProcStat([]byte("4242 (cr) un (x)) Z 17 4240 4239 0 -1 4194560 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st != (procStat{state: 'Z', ppid: 17, pgrp: 4240, session: 4239}) {
		t.Errorf("got %+v", st)
	}
	for _, bad := range []string{"", "1 (x", "1 (x) Z 2", "1 (x) Z a b c"} {
		if _, err := parseProcStat([]byte(bad)); err == nil {
			t.Errorf("parseProcStat(%q): no error", bad)
		}
	}
}
