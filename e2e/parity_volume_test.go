package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Compose: volumes_test.go TestLocalComposeVolume. The fixture's
// nginx-build/Dockerfile is not in the index and is rebuilt: Compose's
// nginx serves /usr/share/nginx/html, and the suite's nginx stand-in
// (httpecho) serves only its own page, so the image is the busybox
// stand-in running busybox httpd on port 80 over that directory — the
// observable, the bound static/index.html served on the published port,
// is Compose's.
func TestParityComposeLocalComposeVolume(t *testing.T) {
	e := parityEnv(t, `services:
  nginx:
    build: nginx-build
    volumes:
      - ./static:/usr/share/nginx/html
    ports:
      - 80

  nginx2:
    build: nginx-build
    volumes:
      - staticVol:/usr/share/nginx/html:ro
      - /usr/src/app/node_modules
      - otherVol:/usr/share/nginx/test
    ports:
      - 80
    configs:
      - myconfig
    secrets:
      - mysecret

volumes:
  staticVol:
  otherVol:
    name: myVolume

configs:
  myconfig:
    file: ./static/index.html

secrets:
  mysecret:
    file: ./static/index.html
`)
	e.WriteFile(t, "static/index.html", "<h1>Hello from Nginx container</h1>\n")
	e.WriteFile(t, "nginx-build/Dockerfile", `FROM alpine
RUN mkdir -p /usr/share/nginx/html /usr/src/app
CMD ["busybox", "httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
`)
	nginx, nginx2 := e.Project+"-nginx-1", e.Project+"-nginx2-1"

	t.Run("up with build and no image name, volume", func(t *testing.T) {
		e.MustBerth(t, "up", "-d")
	})
	t.Run("access bind mount data", func(t *testing.T) {
		addr := strings.TrimSpace(e.MustBerth(t, "port", "nginx", "80").Stdout)
		addr = strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1)
		body := volumeHTTPGet(t, "http://"+addr+"/", 20*time.Second)
		if !strings.Contains(body, "Hello from Nginx container") {
			t.Errorf("GET %s = %q, want the bound static/index.html", addr, body)
		}
	})
	t.Run("check container volume specs", func(t *testing.T) {
		out := e.MustBerth(t, "inspect", nginx2, "--format", "{{ json .Mounts }}").Stdout
		for _, want := range []string{
			`"Destination":"/usr/src/app/node_modules","Driver":"local","Mode":"z","RW":true,"Propagation":""`,
			`"Destination":"/myconfig","Mode":"","RW":false,"Propagation":"rprivate"`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("mounts of %s lack %s:\n%s", nginx2, want, out)
			}
		}
	})
	t.Run("check config content", func(t *testing.T) {
		wantOut(t, e.MustBerth(t, "exec", "nginx2", "cat", "/myconfig"), "Hello from Nginx container")
	})
	t.Run("check secrets content", func(t *testing.T) {
		wantOut(t, e.MustBerth(t, "exec", "nginx2", "cat", "/run/secrets/mysecret"), "Hello from Nginx container")
	})
	t.Run("check container bind-mounts specs", func(t *testing.T) {
		out := e.MustBerth(t, "inspect", nginx, "--format", "{{ json .Mounts }}").Stdout
		for _, want := range []string{`"Type":"bind"`, `"Destination":"/usr/share/nginx/html"`} {
			if !strings.Contains(out, want) {
				t.Errorf("mounts of %s lack %s:\n%s", nginx, want, out)
			}
		}
	})
	t.Run("should inherit anonymous volumes", func(t *testing.T) {
		e.MustBerth(t, "exec", "nginx2", "touch", "/usr/src/app/node_modules/test")
		e.MustBerth(t, "up", "--force-recreate", "-d")
		e.MustBerth(t, "exec", "nginx2", "ls", "/usr/src/app/node_modules/test")
	})
	t.Run("should renew anonymous volumes", func(t *testing.T) {
		// Compose runs this ls with RunDockerOrExitError and asserts
		// nothing; a renewed volume is empty, so berth checks that.
		e.MustBerth(t, "exec", "nginx2", "touch", "/usr/src/app/node_modules/test")
		e.MustBerth(t, "up", "--force-recreate", "--renew-anon-volumes", "-d")
		if r := e.Berth(t, "exec", "nginx2", "ls", "/usr/src/app/node_modules/test"); r.Code == 0 {
			t.Errorf("the anonymous volume was not renewed:\n%s", r)
		}
	})
	t.Run("cleanup volume project", func(t *testing.T) {
		e.MustBerth(t, "down", "--volumes")
		ls := e.MustBerth(t, "volume", "ls").Stdout
		for _, v := range []string{e.Project + "_staticVol", "myVolume"} {
			if strings.Contains(ls, v) {
				t.Errorf("volume ls after down --volumes still lists %s:\n%s", v, ls)
			}
		}
	})
}

// volumeHTTPGet GETs url until it answers 200 or d passes.
func volumeHTTPGet(t *testing.T, url string, d time.Duration) string {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(d)
	for {
		resp, err := c.Get(url)
		if err == nil {
			b, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if rerr == nil && resp.StatusCode == http.StatusOK {
				return string(b)
			}
			err = rerr
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
