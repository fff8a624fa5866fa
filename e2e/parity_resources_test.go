package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Docker Compose's pkg/e2e scenarios about volumes, hooks, networks,
// images and pulls, ported as Compose states them (see
// parity_compose_test.go). Compose reads a volume with `docker run -v
// VOL:/mnt alpine`; berth tests read it where `volume inspect` says it is.

// volumeFile reads a file of a named volume on the host.
func volumeFile(t *testing.T, e *Env, volume, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(volumeMountpoint(t, e, volume), name))
	if err != nil {
		t.Fatalf("volume %s: %v", volume, err)
	}
	return string(b)
}

// Compose: noDeps_test.go TestNoDepsVolumeFrom.
func TestParityComposeNoDepsVolumeFrom(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    init: true
    command: sleep infinity
    volumes_from:
      - db
  db:
    image: alpine
    init: true
    command: sleep infinity
    volumes:
      - /var/data
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("app", "running"), ServiceState("db", "running"))
	e.MustBerth(t, "up", "--no-deps", "-d", "app")
	expect(t, e, NotRecreated(before, "app", "db"))
	e.MustBerth(t, "rm", "-s", "-f", "db") // Compose: docker rm -f <project>-db-1
	expect(t, e, ServiceNotCreated("db"))
	r := e.Berth(t, "up", "--no-deps", "-d", "app")
	wantCode(t, r, 1, "up --no-deps without the volumes_from container")
	wantOut(t, r, "cannot share volume with service db: container missing")
}

// Compose: noDeps_test.go TestNoDepsNetworkMode.
func TestParityComposeNoDepsNetworkMode(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    init: true
    command: sleep infinity
    network_mode: service:db
  db:
    image: alpine
    init: true
    command: sleep infinity
`)
	e.MustBerth(t, "up", "-d")
	before := expect(t, e, ServiceState("app", "running"), ServiceState("db", "running"))
	e.MustBerth(t, "up", "--no-deps", "-d", "app")
	expect(t, e, NotRecreated(before, "app", "db"))
	e.MustBerth(t, "rm", "-s", "-f", "db")
	expect(t, e, ServiceNotCreated("db"))
	r := e.Berth(t, "up", "--no-deps", "-d", "app")
	wantCode(t, r, 1, "up --no-deps without the network_mode container")
	wantOut(t, r, "cannot share network namespace with service db: container missing")
}

// Compose: hooks_test.go TestPostStartHookInError.
func TestParityComposePostStartHookInError(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    init: true
    command: sleep infinity
    post_start:
      - command: sh -c 'command in error'
`)
	r := e.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a failing post_start hook")
	wantOut(t, r, "test hook exited with status 127")
}

// Compose: hooks_test.go TestPostStartHookSuccess.
func TestParityComposePostStartHookSuccess(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    init: true
    command: sleep infinity
    post_start:
      - command: sh -c 'echo env'
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("test", "running"))
}

const parityPreStop = `services:
  sample:
    image: alpine
    init: true
    command: sleep infinity
    volumes:
      - data:/data
    pre_stop:
      - command: sh -c 'echo "In the pre-stop" >> /data/log.txt'
  test:
    image: alpine
    init: true
    command: sleep infinity
    post_start:
      - command: sh -c 'echo env'
volumes:
  data:
`

// Compose: hooks_test.go TestPreStopHookSuccess.
func TestParityComposePreStopHookSuccess(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    init: true
    command: sleep infinity
    volumes:
      - data:/data
    pre_stop:
      - command: sh -c 'echo "In the pre-stop" >> /data/log.txt'
volumes:
  data:
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("sample", "running"))
	e.MustBerth(t, "stop")
	expect(t, e, ServiceState("sample", "exited"))
	if got := volumeFile(t, e, e.Project+"_data", "log.txt"); !strings.Contains(got, "In the pre-stop") {
		t.Errorf("the volume's log.txt = %q, want the hook's line", got)
	}
}

// Compose: hooks_test.go TestPreStopHookInError.
func TestParityComposePreStopHookInError(t *testing.T) {
	e := parityEnv(t, `services:
  sample:
    image: alpine
    init: true
    command: sleep infinity
    pre_stop:
      - command: sh -c 'command in error'
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("sample", "running"))
	r := e.Berth(t, "down", "-t", "0")
	wantCode(t, r, 1, "down with a failing pre_stop hook")
	wantOut(t, r, "sample hook exited with status 127")
}

// Compose: hooks_test.go TestPreStopHookSuccessWithPreviousStop.
func TestParityComposePreStopHookSuccessWithPreviousStop(t *testing.T) {
	e := parityEnv(t, parityPreStop)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("sample", "running"), ServiceState("test", "running"))
	e.MustBerth(t, "stop", "sample")
	expect(t, e, ServiceState("sample", "exited"), ServiceState("test", "running"))
}

// Compose: hooks_test.go TestPostStartAndPreStopHook.
func TestParityComposePostStartAndPreStopHook(t *testing.T) {
	e := parityEnv(t, parityPreStop)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("sample", "running"), ServiceState("test", "running"))
}

// Compose: recreate_no_deps_test.go TestRecreateWithNoDeps.
func TestParityComposeRecreateWithNoDeps(t *testing.T) {
	e := parityEnv(t, `services:
  my-service:
    image: alpine
    command: sleep infinity
    init: true
    depends_on:
      dep: {condition: service_healthy}

  dep:
    image: alpine
    command: sleep infinity
    init: true
    healthcheck:
      test:     "/bin/true"
      interval: 2s
      timeout:  1s
      retries:  10
`)
	e.Timeout = 60 * time.Second
	e.MustBerth(t, "up", "-d", "--wait")
	before := expect(t, e, ServiceState("my-service", "running"), ServiceHealthy("dep"))
	e.MustBerth(t, "up", "-d", "--force-recreate", "--no-deps", "my-service")
	expect(t, e, ServiceState("my-service", "running"), Recreated(before, "my-service"), NotRecreated(before, "dep"))
}

// Compose: healthcheck_test.go TestStartInterval.
func TestParityComposeStartInterval(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    init: true
    command: sleep infinity
    healthcheck:
      interval: 30s
      start_period: 10s
      start_interval: 1s
      test: "/bin/true"

  error:
    image: alpine
    init: true
    command: sleep infinity
    healthcheck:
      interval: 30s
      start_interval: 1s
      test: "/bin/true"
`)
	r := e.Berth(t, "up", "--wait", "-d", "error")
	wantCode(t, r, 1, "start_interval without start_period")
	wantOut(t, r, "healthcheck.start_interval requires healthcheck.start_period to be set")
	e.Timeout = 30 * time.Second
	e.MustBerth(t, "up", "--wait", "-d", "test")
	expectWithin(t, e, 2*time.Second, ServiceState("test", "running"), ServiceHealthy("test"))
}

// Compose: volumes_test.go TestUpSwitchVolumes.
func TestParityComposeUpSwitchVolumes(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    volumes:
      - my_vol:/my_vol

volumes:
  my_vol:
    external: true
    name: ${EXTERNAL_VOLUME}
`)
	vol1, vol2 := e.Project+"-ext-1", e.Project+"-ext-2"
	e.MustBerth(t, "volume", "create", vol1)
	e.MustBerth(t, "volume", "create", vol2)
	mountName := func() string {
		r := e.MustBerth(t, "inspect", "-f", "{{ (index .Mounts 0).Name }}", e.Project+"-app-1")
		return strings.TrimSpace(r.Stdout)
	}
	e.ExtraEnv = []string{"EXTERNAL_VOLUME=" + vol1}
	e.MustBerth(t, "up", "-d")
	if got := mountName(); got != vol1 {
		t.Errorf("mount is %q, want %q", got, vol1)
	}
	e.ExtraEnv = []string{"EXTERNAL_VOLUME=" + vol2}
	e.MustBerth(t, "up", "-d")
	if got := mountName(); got != vol2 {
		t.Errorf("after switching: mount is %q, want %q", got, vol2)
	}
}

// Compose: volumes_test.go TestUpRecreateVolumes.
func TestParityComposeUpRecreateVolumes(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    volumes:
      - my_vol:/my_vol

volumes:
  my_vol:
    labels:
      foo: ${VOL_LABEL:-bar}
`)
	label := func() string {
		r := e.MustBerth(t, "volume", "inspect", e.Project+"_my_vol")
		var v []struct{ Labels map[string]string }
		if err := json.Unmarshal([]byte(r.Stdout), &v); err != nil || len(v) != 1 {
			t.Fatalf("volume inspect: %v\n%s", err, r)
		}
		return v[0].Labels["foo"]
	}
	e.MustBerth(t, "up", "-d")
	if got := label(); got != "bar" {
		t.Errorf("label foo = %q, want bar", got)
	}
	vol := e.Project + "_my_vol:/v"
	e.MustBerth(t, "container", "run", "--rm", "-v", vol, "alpine", "sh", "-c", "echo data > /v/file")
	e.ExtraEnv = []string{"VOL_LABEL=zot"}
	// without -y the volume and its data are kept, with a warning
	r := e.MustBerth(t, "up", "-d")
	wantOut(t, r, "doesn't match configuration in compose file")
	if got := label(); got != "bar" {
		t.Errorf("after up without -y: foo = %q, want the volume kept (bar)", got)
	}
	e.MustBerth(t, "up", "-d", "-y")
	if got := label(); got != "zot" {
		t.Errorf("after up -y with a new label: foo = %q, want zot", got)
	}
	if r := e.Berth(t, "container", "run", "--rm", "-v", vol, "alpine", "cat", "/v/file"); r.Code == 0 {
		t.Errorf("the recreated volume still holds the old data:\n%s", r)
	}
	r = e.MustBerth(t, "up", "-d", "-y")
	wantNotOut(t, r, "Recreate")
}

// Compose: volumes_test.go TestUpRecreateVolumesIgnoreBinds.
func TestParityComposeUpRecreateVolumesIgnoreBinds(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    volumes:
      - .:/my_vol
`)
	e.MustBerth(t, "up", "-d")
	before := mustSnap(t, e)
	r := e.MustBerth(t, "up", "-d")
	wantNotOut(t, r, "Recreated")
	expect(t, e, NotRecreated(before, "app"))
}

// Compose: volumes_test.go TestImageVolume.
func TestParityComposeImageVolume(t *testing.T) {
	e := parityEnv(t, parityImageVolume("with_image"))
	wantOut(t, e.MustBerth(t, "up", "with_image"), "index.html")
}

// An image volume whose subpath goes through a symlink the image planted
// (alpine's var/run -> /run) is refused, and so is one that climbs out
// with "..": the image's content is not trusted.
func TestImageVolumeSubpathNoSymlinks(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine
    command: ls /mnt/image
    volumes:
      - type: image
        source: alpine
        target: /mnt/image
        image:
          subpath: var/run
`)
	r := e.Berth(t, "up", "app")
	if r.Code == 0 || !strings.Contains(r.Stderr, "subpath") {
		t.Errorf("an image volume subpath through a symlink (var/run -> /run) was mounted:\n%s", r)
	}
	e.Compose(t, `services:
  app:
    image: alpine
    command: ls /mnt/image
    volumes:
      - type: image
        source: nginx:alpine
        target: /mnt/image
        image:
          subpath: usr/../../../../etc
`)
	if r := e.Berth(t, "up", "app"); r.Code == 0 || !strings.Contains(r.Stderr, "subpath") {
		t.Errorf("an image volume subpath with .. was mounted:\n%s", r)
	}
}

func parityImageVolume(svc string) string {
	return `services:
  ` + svc + `:
    image: alpine
    command: "ls -al /mnt/image"
    volumes:
      - type: image
        source: nginx:alpine
        target: /mnt/image
        image:
          subpath: usr/share/nginx/html/
`
}

// Compose: volumes_test.go TestImageVolumeImageAlreadyLocal.
func TestParityComposeImageVolumeImageAlreadyLocal(t *testing.T) {
	e := parityEnv(t, parityImageVolume("app"))
	e.MustBerth(t, "image", "pull", "nginx:alpine")
	wantOut(t, e.MustBerth(t, "up", "app"), "index.html")
	before := mustSnap(t, e)
	r := e.MustBerth(t, "up", "app")
	wantNotOut(t, r, "Recreate")
	expect(t, e, NotRecreated(before, "app"))
}

// Compose: volumes_test.go TestImageVolumeRecreateOnRebuild
// (testdata/TestImageVolumeRecreateOnRebuild): rebuilding the image that a
// `type: image` volume mounts recreates the container that mounts it, so
// it sees the new content. The image is the test's own (its state root
// goes with it), where Compose removes it from the daemon.
func TestParityComposeImageVolumeRecreateOnRebuild(t *testing.T) {
	e := parityEnv(t, `services:
  source:
    build:
      context: .
      dockerfile: Dockerfile
    image: ${SOURCE_IMAGE}

  consumer:
    image: alpine
    depends_on:
      - source
    command: ["cat", "/data/content.txt"]
    volumes:
      - type: image
        source: ${SOURCE_IMAGE}
        target: /data
        image:
          subpath: app
`)
	e.WriteFile(t, "Dockerfile", `FROM alpine
WORKDIR /app
ARG CONTENT=initial
RUN echo "$CONTENT" > /app/content.txt
`)
	e.ExtraEnv = append(e.ExtraEnv, "SOURCE_IMAGE="+e.Project+"-source-image")
	e.MustBerth(t, "build", "--build-arg", "CONTENT=foo")
	e.MustBerth(t, "up", "-d")
	expectWithin(t, e, time.Minute, ServiceState("consumer", "exited"))
	wantOut(t, e.MustBerth(t, "logs", "consumer"), "foo")
	e.MustBerth(t, "build", "--build-arg", "CONTENT=bar")
	before := mustSnap(t, e)
	e.MustBerth(t, "up", "-d")
	expect(t, e, Recreated(before, "consumer"))
	expectWithin(t, e, time.Minute, ServiceState("consumer", "exited"))
	wantOut(t, e.MustBerth(t, "logs", "consumer"), "bar")
}

// Compose: volumes_test.go TestProjectVolumeBind.
func TestParityComposeProjectVolumeBind(t *testing.T) {
	e := parityEnv(t, "")
	e.WriteFile(t, "docker-compose.yml", `services:
  frontend:
    image: nginx
    container_name: frontend
    volumes:
      - project-data:/data

volumes:
  project-data:
    driver: local
    driver_opts:
      type: none
      o: bind
      device: "${TEST_DIR}"
`)
	dir := t.TempDir()
	e.ExtraEnv = []string{"TEST_DIR=" + dir}
	e.noteProject([]string{"-p", e.Project}) // the cleanup's down by name: the file is not compose.yaml
	e.MustBerth(t, "up", "-d")
	if err := os.WriteFile(filepath.Join(dir, "resultfile"), []byte("SUCCESS\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantOut(t, e.MustBerth(t, "exec", "frontend", "sh", "-c", "cat /data/resultfile"), "SUCCESS")
}

// Compose: up_test.go TestUpWithAllResources.
func TestParityComposeUpWithAllResources(t *testing.T) {
	e := parityEnv(t, `volumes:
  my_vol: {}

networks:
  my_net: {}
`)
	r := e.MustBerth(t, "--all-resources", "up")
	wantOut(t, r, "Volume "+e.Project+"_my_vol", "Network "+e.Project+"_my_net")
	e.MustBerth(t, "volume", "inspect", e.Project+"_my_vol")
	e.MustBerth(t, "network", "inspect", e.Project+"_my_net")
	// without the flag, as Compose: only what services use
	e.MustBerth(t, "down", "-v")
	if r := e.Berth(t, "network", "inspect", e.Project+"_my_net"); r.Code == 0 {
		t.Errorf("down left the unused network made by --all-resources:\n%s", r)
	}
	if r := e.Berth(t, "volume", "inspect", e.Project+"_my_vol"); r.Code == 0 {
		t.Errorf("down -v left the unused volume made by --all-resources:\n%s", r)
	}
	r = e.MustBerth(t, "up")
	wantNotOut(t, r, "my_vol", "my_net")
}

// Compose: up_test.go TestUpImageID.
func TestParityComposeUpImageID(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: ${ID:?ID variable must be set}
`)
	e.MustBerth(t, "image", "pull", "alpine")
	r := e.MustBerth(t, "image", "inspect", "alpine")
	var imgs []struct{ ID, Id string }
	if err := json.Unmarshal([]byte(r.Stdout), &imgs); err != nil || len(imgs) != 1 {
		t.Fatalf("image inspect alpine: %v\n%s", err, r)
	}
	id := imgs[0].Id
	if id == "" {
		id = imgs[0].ID
	}
	_, hex, _ := strings.Cut(id, ":")
	e.ExtraEnv = []string{"ID=" + hex}
	e.MustBerth(t, "up")
}

// Compose: up_test.go TestUpWithBuildDependencies.
func TestParityComposeUpWithBuildDependencies(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: ${BUILT_IMAGE}
    build:
      context: .
  bar:
    image: ${BUILT_IMAGE}
    depends_on:
      - foo
`)
	e.WriteFile(t, "Dockerfile", "FROM busybox:1.35.0\nRUN echo \"hello\"\n")
	image := e.Project + "-built"
	e.ExtraEnv = []string{"BUILT_IMAGE=" + image}
	e.MustBerth(t, "up", "-d")
	e.MustBerth(t, "image", "inspect", image)
}

// Compose: images_test.go TestImagesAfterImageRemoved (regression of
// docker/compose#14014).
func TestParityComposeImagesAfterImageRemoved(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: ${REMOVED_IMAGE}
    pull_policy: never
    init: true
    command: ["sleep", "infinity"]
`)
	image := e.Project + ":v1"
	e.MustBerth(t, "image", "pull", "-q", "alpine:3.22")
	e.MustBerth(t, "image", "tag", "alpine:3.22", image)
	e.ExtraEnv = []string{"REMOVED_IMAGE=" + image}
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("app", "running"))
	e.Berth(t, "image", "rm", "-f", image)
	wantOut(t, e.MustBerth(t, "images"), e.Project+"-app-1")
}

// Compose: logs_test.go TestLocalComposeLargeLogs.
func TestParityComposeLocalComposeLargeLogs(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    command: cat /text_file.txt
    volumes:
      - ${FILE}:/text_file.txt
`)
	file := filepath.Join(t.TempDir(), "large.txt")
	var b strings.Builder
	for i := range 300_000 {
		b.WriteString("This is line ")
		b.WriteString(strconv.Itoa(i))
		b.WriteString(" in a laaaarge text file\n")
	}
	if err := os.WriteFile(file, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.ExtraEnv = []string{"FILE=" + file}
	e.Timeout = 3 * time.Minute
	r := e.MustBerth(t, "up", "--abort-on-container-exit")
	if !strings.Contains(r.Stdout, "test-1 exited with code 0") {
		t.Errorf("stdout lacks %q (tail: %q)", "test-1 exited with code 0", tail(r.Stdout, 300))
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// Compose: networks_test.go TestNetworkAliases (curl is wget here: the
// stand-in images are busybox).
func TestParityComposeNetworkAliases(t *testing.T) {
	e := parityEnv(t, `services:
  container1:
    image: nginx
    stop_signal: SIGTERM
    links:
      - container2:container

  container2:
    image: nginx
    stop_signal: SIGTERM
    networks:
      default:
        aliases:
          - alias-of-container2
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("container1", "running"), ServiceState("container2", "running"))
	for _, host := range []string{"alias-of-container2", "container"} {
		r := e.Berth(t, "exec", "-T", "container1", "timeout", "10", "wget", "-qO-", "http://"+host+"/")
		if r.Code != 0 || !strings.Contains(r.Stdout, "hostname:") {
			t.Errorf("http://%s/ from container1: %s", host, r)
		}
	}
}

// Compose: networks_test.go TestNetworkLinks.
func TestParityComposeNetworkLinks(t *testing.T) {
	e := parityEnv(t, `services:
  container1:
    image: nginx
    stop_signal: SIGTERM
    network_mode: bridge
  container2:
    image: nginx
    stop_signal: SIGTERM
    network_mode: bridge
    links:
      - container1
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("container1", "running"), ServiceState("container2", "running"))
	r := e.Berth(t, "exec", "-T", "container2", "timeout", "10", "wget", "-qO-", "http://container1/")
	if r.Code != 0 || !strings.Contains(r.Stdout, "hostname:") {
		t.Errorf("http://container1/ from container2: %s", r)
	}
}

// Compose: networks_test.go TestIPAMConfig (subnet 10.1.0.0/16 is
// 10.216.1.0/24 here: the suite keeps to its own ranges).
func TestParityComposeIPAMConfig(t *testing.T) {
	e := parityEnv(t, `services:
  foo:
    image: alpine
    init: true
    entrypoint: ["sleep", "600"]
    networks:
      default:
        ipv4_address: 10.216.1.100  # <-- Fixed IP address
networks:
  default:
    ipam:
      config:
        - subnet: 10.216.1.0/24
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("foo", "running"))
	r := e.MustBerth(t, "inspect", e.Project+"-foo-1", "-f",
		`{{ $network := index .NetworkSettings.Networks "`+e.Project+`_default" }}{{ $network.IPAMConfig.IPv4Address }}`)
	wantOut(t, r, "10.216.1.100")
}

// Compose: networks_test.go TestNetworkModes.
func TestParityComposeNetworkModes(t *testing.T) {
	e := parityEnv(t, `services:
  mydb:
    image: alpine
    network_mode: "service:db"
  db:
    image: alpine
    init: true
    command: sleep infinity
`)
	wantOut(t, e.MustBerth(t, "run", "-T", "mydb", "echo", "success"), "success")
	expect(t, e, ServiceState("db", "running"))
}

// Compose: networks_test.go TestMacAddress.
func TestParityComposeMacAddress(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    init: true
    command: sleep infinity
    mac_address: 00:e0:84:35:d0:e8
`)
	e.MustBerth(t, "up", "-d")
	expect(t, e, ServiceState("test", "running"))
	r := e.MustBerth(t, "inspect", e.Project+"-test-1", "-f",
		`{{ (index .NetworkSettings.Networks "`+e.Project+`_default" ).MacAddress }}`)
	wantOut(t, r, "00:e0:84:35:d0:e8")
}

// Compose: networks_test.go TestInterfaceName.
func TestParityComposeInterfaceName(t *testing.T) {
	e := parityEnv(t, `services:
  test:
    image: alpine
    command: ip link show
    networks:
      default:
        interface_name: foobar
`)
	wantOut(t, e.MustBerth(t, "run", "test"), "foobar@")
}

// Compose: pull_test.go TestComposePull.
func TestParityComposePull(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine:3.14
    command: top
  another:
    image: alpine:3.15
    command: top
`)
	e.MustBerth(t, "down", "--rmi", "all")
	for range 2 {
		wantOut(t, e.MustBerth(t, "pull"), "Image alpine:3.14 Pulled", "Image alpine:3.15 Pulled")
	}
}

// Compose: pull_test.go TestPullImagePresentLocally.
func TestParityComposePullImagePresentLocally(t *testing.T) {
	e := parityEnv(t, `services:
  simple:
    image: alpine:3.13.12
    pull_policy: missing
    command: top
  latest:
    image: alpine:latest
    pull_policy: missing
    command: top
`)
	e.MustBerth(t, "pull")
	wantOut(t, e.MustBerth(t, "pull"), "alpine:3.13.12 Skipped Image is already present locally", "alpine:latest Pulled")
}

// Compose: pull_test.go TestPullNoImageNameGiven.
func TestParityComposePullNoImageNameGiven(t *testing.T) {
	e := parityEnv(t, `services:
  no-image-service:
    build: .
`)
	e.WriteFile(t, "Dockerfile", "FROM alpine:3.15\n")
	wantOut(t, e.MustBerth(t, "pull"), "Skipped No image to be pulled")
}

const parityPullFailure = `services:
  fail:
    image: does_not_exists
  can_build:
    image: doesn_t_exists_either
    build: .
  valid:
    image: alpine:3.15
`

// Compose: pull_test.go TestPullFailure.
func TestParityComposePullFailure(t *testing.T) {
	e := parityEnv(t, parityPullFailure)
	e.WriteFile(t, "Dockerfile", "FROM alpine:3.15")
	r := e.Berth(t, "pull")
	wantCode(t, r, 1, "pull of a missing image")
	wantOut(t, r, "pull access denied for does_not_exists")
}

// Compose: pull_test.go TestPullIgnoreFailures.
func TestParityComposePullIgnoreFailures(t *testing.T) {
	e := parityEnv(t, parityPullFailure)
	e.WriteFile(t, "Dockerfile", "FROM alpine:3.15")
	wantOut(t, e.MustBerth(t, "pull", "--ignore-pull-failures"), "Some service image(s) must be built from source by running:")
}

// Compose: compose_run_test.go TestComposeRunQuietPull.
func TestParityComposeRunQuietPull(t *testing.T) {
	e := parityEnv(t, `services:
  backend:
    image: nginx
    command: nginx -t
`)
	e.MustBerth(t, "down", "--rmi", "all")
	r := e.MustBerth(t, "run", "--quiet-pull", "backend")
	wantNotOut(t, r, "Pull complete")
	wantOut(t, r, "Pulled")
	e.MustBerth(t, "down", "--rmi", "all")
	e.ExtraEnv = append(e.ExtraEnv, "COMPOSE_PROGRESS=quiet")
	r = e.MustBerth(t, "run", "backend")
	wantNotOut(t, r, "Pull complete", "Pulled")
}

// Compose: compose_run_test.go TestComposeRunPullAlways (the nginx
// stand-in's `nginx -t` says its configuration is fine).
func TestParityComposeRunPullAlways(t *testing.T) {
	e := parityEnv(t, `services:
  backend:
    image: nginx
    command: nginx -t
`)
	r := e.MustBerth(t, "run", "--pull", "always", "backend")
	if !regexp.MustCompile(`Image nginx\s+Pulling`).MatchString(r.Stderr) || !regexp.MustCompile(`Image nginx\s+Pulled`).MatchString(r.Stderr) {
		t.Errorf("run --pull always: want the pull reported:\n%s", r)
	}
}

// Compose: image_identity_corner_test.go TestPullRefreshWindowExplicitPull.
func TestParityComposePullRefreshWindowExplicitPull(t *testing.T) {
	e := parityEnv(t, `services:
  app:
    image: alpine:3.18
    pull_policy: daily
    command: ["sleep", "infinity"]
`)
	e.MustBerth(t, "pull")
	r := e.MustBerth(t, "pull")
	wantOut(t, r, "Pulled")
	wantNotOut(t, r, "Skipped")
}
