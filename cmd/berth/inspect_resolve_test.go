package main

import (
	"errors"
	"reflect"
	"testing"

	"github.com/berth-dev/berth/engine"
)

func TestMatchContainers(t *testing.T) {
	all := []*engine.Container{
		{ID: "aaa111", Name: "shop-web-1", Project: "shop", Service: "web"},
		{ID: "aaa222", Name: "shop-web-2", Project: "shop", Service: "web"},
		{ID: "bbb333", Name: "shop-web-run-1", Project: "shop", Service: "web", Oneoff: true},
		{ID: "ccc444", Name: "web", Project: "other", Service: "db"},
		{ID: "ddd555", Name: "lonely"},
	}
	tests := []struct {
		proj, arg string
		want      []string
		wantErr   string
	}{
		{"shop", "web", []string{"aaa111", "aaa222"}, ""}, // the service, one-offs left out
		{"", "web", []string{"ccc444"}, ""},               // no project: the container named web
		{"other", "web", []string{"ccc444"}, ""},          // not a service of other: the name
		{"shop", "lonely", []string{"ddd555"}, ""},        // a name
		{"shop", "bbb333", []string{"bbb333"}, ""},        // a full ID
		{"shop", "dd", []string{"ddd555"}, ""},            // a unique prefix
		{"shop", "aaa", nil, `"aaa": ambiguous container ID prefix (2 containers)`},
		{"shop", "zzz", nil, `"zzz": no such service or container`},
		{"shop", "", nil, `"": no such service or container`},
	}
	for _, tt := range tests {
		hits, err := matchContainers(all, tt.proj, tt.arg)
		if errString(err) != tt.wantErr {
			t.Errorf("%s/%q: err %v, want %q", tt.proj, tt.arg, err, tt.wantErr)
			continue
		}
		if err != nil && tt.wantErr != "" && errors.Is(err, errNoSuchContainer) != (tt.arg != "aaa") {
			t.Errorf("%q: errors.Is(errNoSuchContainer) wrong for %v", tt.arg, err)
		}
		var ids []string
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		if !reflect.DeepEqual(ids, tt.want) {
			t.Errorf("%s/%q: %q, want %q", tt.proj, tt.arg, ids, tt.want)
		}
	}
}
