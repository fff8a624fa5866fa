package build

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

func TestCheckCopySpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    copySpec
		want error // nil: accepted
		text string
	}{
		{name: "plain", c: copySpec{srcs: []string{"a"}, dest: "/b"}},
		{name: "heredoc", c: copySpec{heredocs: 1, dest: "/b"}},
		{name: "heredoc and files", c: copySpec{heredocs: 1, srcs: []string{"a"}}, want: ErrUnsupported, text: "COPY of files and heredocs"},
		{name: "heredoc from", c: copySpec{add: true, heredocs: 1, from: "s"}, want: ErrUnsupported, text: "ADD of files and heredocs"},
		{name: "parents", c: copySpec{parents: true}, want: ErrUnsupported, text: "COPY --parents"},
		{name: "checksum", c: copySpec{add: true, checksum: "sha256:x"}, want: ErrUnsupported, text: "ADD --checksum"},
		{name: "ADD url", c: copySpec{add: true, srcs: []string{"a", "https://x/y"}}, want: ErrRemoteSource, text: "ADD https://x/y"},
		{name: "COPY of a url-looking path", c: copySpec{srcs: []string{"https://x/y"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkCopySpec(&tc.c)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("checkCopySpec = %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("checkCopySpec = %v, want %v saying %q", err, tc.want, tc.text)
			}
		})
	}
}

func TestParseChmod(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want fs.FileMode
		none bool
		bad  bool
	}{
		{in: "", none: true},
		{in: "644", want: 0o644},
		{in: "0755", want: 0o755},
		{in: "4755", want: 0o755 | fs.ModeSetuid},
		{in: "3700", want: 0o700 | fs.ModeSetgid | fs.ModeSticky},
		{in: "10000", bad: true},
		{in: "u+x", bad: true},
		{in: "9", bad: true},
	} {
		m, err := parseChmod(tc.in)
		switch {
		case tc.bad:
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "--chmod="+tc.in) {
				t.Errorf("parseChmod(%q) = %v, %v; want an error naming it", tc.in, m, err)
			}
		case tc.none:
			if m != nil || err != nil {
				t.Errorf("parseChmod(%q) = %v, %v; want none", tc.in, m, err)
			}
		case err != nil || m == nil || *m != tc.want:
			t.Errorf("parseChmod(%q) = %v, %v; want %v", tc.in, m, err, tc.want)
		}
	}
}

func tarBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: "f", Mode: 0o644, Size: 2}); err != nil {
		t.Fatal(err)
	}
	tw.Write([]byte("hi"))
	tw.Close()
	return b.Bytes()
}

// TestDecompressedIsTar feeds each compression of a tar, and things that
// are not archives, through the two steps that decide whether ADD unpacks.
func TestDecompressedIsTar(t *testing.T) {
	plain := tarBytes(t)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	var zs bytes.Buffer
	enc, err := zstd.NewWriter(&zs)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(plain)
	enc.Close()
	var gzText bytes.Buffer
	zw = gzip.NewWriter(&gzText)
	zw.Write([]byte(strings.Repeat("not a tar ", 100)))
	zw.Close()

	for _, tc := range []struct {
		name    string
		data    []byte
		wantTar bool
		nilR    bool
		wantErr bool
	}{
		{name: "tar", data: plain, wantTar: true},
		{name: "gzip", data: gz.Bytes(), wantTar: true},
		{name: "zstd", data: zs.Bytes(), wantTar: true},
		{name: "gzip of text", data: gzText.Bytes()},
		{name: "text", data: []byte("hello")},
		{name: "empty"},
		{name: "broken gzip header", data: []byte{0x1f, 0x8b, 0, 0}, nilR: true},
		{name: "xz", data: []byte("\xfd7zXZ\x00rest"), wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, closeR, err := decompressed(bufio.NewReaderSize(bytes.NewReader(tc.data), 64*1024))
			if tc.wantErr {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "xz") {
					t.Fatalf("decompressed = %v, want ErrUnsupported naming xz", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.nilR {
				if r != nil {
					t.Fatal("a reader for a broken header, want none")
				}
				return
			}
			defer closeR()
			tr := bufio.NewReaderSize(r, 1024)
			if got := isTar(tr); got != tc.wantTar {
				t.Fatalf("isTar = %v, want %v", got, tc.wantTar)
			}
			if tc.wantTar {
				h, err := tar.NewReader(tr).Next()
				if err != nil || h.Name != "f" {
					t.Fatalf("first entry %v, %v; want f (the peek consumed nothing)", h, err)
				}
			}
		})
	}
}
