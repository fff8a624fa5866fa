package main

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/berth-dev/berth/volumes"
)

func TestParseVolumeFilters(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		filters []string
		want    volumeSelection
		wantErr string
	}{
		{nil, volumeSelection{filter: volumes.Filter{Project: "p", Labels: map[string]string{}}}, ""},
		{[]string{"label=a", "label=b=c", "name=da", "name=ca", "dangling=1"},
			volumeSelection{filter: volumes.Filter{Project: "p", Labels: map[string]string{"a": "", "b": "c"}}, names: []string{"da", "ca"}, dangling: &yes}, ""},
		{[]string{"dangling=true", "dangling=false"},
			volumeSelection{filter: volumes.Filter{Project: "p", Labels: map[string]string{}}, dangling: &no}, ""},
		{[]string{"dangling=maybe"}, volumeSelection{}, `--filter "dangling=maybe": dangling takes true or false`},
		{[]string{"driver=local"}, volumeSelection{}, `--filter "driver=local": want dangling=, label= or name=`},
	}
	for _, tt := range tests {
		got, err := parseVolumeFilters("p", tt.filters)
		if errString(err) != tt.wantErr {
			t.Errorf("%q: err %v, want %q", tt.filters, err, tt.wantErr)
			continue
		}
		if err == nil && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q: %+v, want %+v", tt.filters, got, tt.want)
		}
	}
}

func TestVolumeSelectionByName(t *testing.T) {
	vols := []*volumes.Volume{{Name: "shop_data"}, {Name: "shop_cache"}, {Name: "other"}}
	names := func(vs []*volumes.Volume) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.Name)
		}
		return out
	}
	if got := names(volumeSelection{}.byName(slices.Clone(vols))); !reflect.DeepEqual(got, []string{"shop_data", "shop_cache", "other"}) {
		t.Errorf("no name filter: %q", got)
	}
	if got := names(volumeSelection{names: []string{"data", "oth"}}.byName(slices.Clone(vols))); !reflect.DeepEqual(got, []string{"shop_data", "other"}) {
		t.Errorf("name=data name=oth: %q", got)
	}
}

func TestPrintVolumes(t *testing.T) {
	vols := []*volumes.Volume{
		{Name: "shop_data", Driver: "local", Mountpoint: "/s/v/shop_data", Labels: map[string]string{"b": "2", "a": "1"}},
		{Name: "x", Driver: "local"},
	}
	tests := []struct {
		o    volumeLsOptions
		want string
	}{
		{volumeLsOptions{quiet: true, format: "json"}, "shop_data\nx\n"},
		{volumeLsOptions{format: "table"}, "DRIVER    VOLUME NAME\nlocal     shop_data\nlocal     x\n"},
		{volumeLsOptions{format: "json"}, `{"Driver":"local","Labels":"a=1,b=2","Links":"N/A","Mountpoint":"/s/v/shop_data","Name":"shop_data","Scope":"local","Size":"N/A"}` + "\n" +
			`{"Driver":"local","Labels":"","Links":"N/A","Mountpoint":"","Name":"x","Scope":"local","Size":"N/A"}` + "\n"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printVolumes(&b, vols, tt.o); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("%+v:\n%q\nwant\n%q", tt.o, b.String(), tt.want)
		}
	}
}
