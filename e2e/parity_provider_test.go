package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Compose's provider_test.go: provider services, run through the protocol
// by e2e/testdata/exampleprovider (Compose's docs/examples/provider.go),
// found on PATH.

var exampleProvider = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "berth-provider-")
	if err != nil {
		return "", err
	}
	out := filepath.Join(dir, "example-provider")
	build := exec.Command("go", "build", "-o", out, "./testdata/exampleprovider")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build example-provider: %v\n%s", err, b)
	}
	return dir, nil
})

// providerEnv is parityEnv with the example provider on PATH.
func providerEnv(t *testing.T, compose string) *Env {
	t.Helper()
	dir, err := exampleProvider()
	if err != nil {
		t.Fatal(err)
	}
	e := parityEnv(t, compose)
	e.ExtraEnv = append(e.ExtraEnv, "PATH="+dir+":"+os.Getenv("PATH"))
	return e
}

// Compose: provider_test.go TestProviderStopHook.
func TestParityComposeProviderStopHook(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "example-provider-stop-marker")
	e := providerEnv(t, `services:
  test:
    image: alpine
    command: echo ok
    depends_on:
      - provider
  provider:
    provider:
      type: example-provider
      options:
        name: provider
        type: test
        size: 1
`)
	e.ExtraEnv = append(e.ExtraEnv, "PROVIDER_STOP_MARKER="+marker)
	e.MustBerth(t, "up", "-d")
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the stop marker exists before stop")
	}
	e.MustBerth(t, "stop")
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("stop did not run the provider's stop: %v", err)
	}
}

// Compose: provider_test.go TestDependsOnMultipleProviders.
func TestParityComposeDependsOnMultipleProviders(t *testing.T) {
	e := providerEnv(t, `services:
  test:
    image: alpine
    command: env
    depends_on:
      - provider1
      - provider2
  provider1:
    provider:
      type: example-provider
      options:
        name: provider1
        type: test1
        size: 1
  provider2:
    provider:
      type: example-provider
      options:
        name: provider2
        type: test2
        size: 2
`)
	wantOut(t, e.MustBerth(t, "up"), "test-1  | PROVIDER1_URL=https://magic.cloud/provider1", "test-1  | PROVIDER2_URL=https://magic.cloud/provider2")
}

const parityProviderRawSetEnv = `services:
  test:
    image: alpine
    command: env
    %s
    depends_on:
      - secrets
  secrets:
    provider:
      type: example-provider
      options:
        name: secrets
        type: test1
        size: 1
`

// Compose: provider_test.go TestProviderRawSetEnv.
func TestParityComposeProviderRawSetEnv(t *testing.T) {
	e := providerEnv(t, fmt.Sprintf(parityProviderRawSetEnv, ""))
	wantOut(t, e.MustBerth(t, "up"), "test-1  | SECRETS_URL=https://magic.cloud/secrets", "test-1  | CLOUD_REGION=us-east-1")
}

// Compose: provider_test.go TestProviderRawSetEnvOverridesUserEnv.
func TestParityComposeProviderRawSetEnvOverridesUserEnv(t *testing.T) {
	e := providerEnv(t, fmt.Sprintf(parityProviderRawSetEnv, `environment:
      CLOUD_REGION: user-defined-region`))
	r := e.MustBerth(t, "up")
	wantOut(t, r, "test-1  | CLOUD_REGION=us-east-1", "overrides environment variable")
	wantNotOut(t, r, "test-1  | CLOUD_REGION=user-defined-region")
}

// Compose: provider_test.go TestProviderRawSetEnvOverridesInheritedEnv.
func TestParityComposeProviderRawSetEnvOverridesInheritedEnv(t *testing.T) {
	e := providerEnv(t, fmt.Sprintf(parityProviderRawSetEnv, `environment:
      - CLOUD_REGION`))
	e.ExtraEnv = append(e.ExtraEnv, "CLOUD_REGION=from-the-shell")
	r := e.MustBerth(t, "up")
	wantOut(t, r, "test-1  | CLOUD_REGION=us-east-1", "overrides environment variable")
	wantNotOut(t, r, "CLOUD_REGION=from-the-shell")
}

// Compose: provider_test.go TestProviderRawSetEnvOverridesInheritedEnvMapForm.
func TestParityComposeProviderRawSetEnvOverridesInheritedEnvMapForm(t *testing.T) {
	e := providerEnv(t, fmt.Sprintf(parityProviderRawSetEnv, `environment:
      CLOUD_REGION:`))
	r := e.MustBerth(t, "up")
	wantOut(t, r, "test-1  | CLOUD_REGION=us-east-1", "overrides environment variable")
}

// The provider's down runs at down, and its failure fails the down naming
// the service; a provider program that is not there fails up naming it.
func TestProviderDownAndMissing(t *testing.T) {
	e := providerEnv(t, fmt.Sprintf(parityProviderRawSetEnv, ""))
	e.MustBerth(t, "up", "-d")
	e.ExtraEnv = append(e.ExtraEnv, "PROVIDER_DOWN_FAILURE=1")
	r := e.Berth(t, "down")
	wantCode(t, r, 1, "down with a failing provider")
	wantOut(t, r, `service "secrets"`, "Permission error")
	e.ExtraEnv = e.ExtraEnv[:len(e.ExtraEnv)-1]
	e.MustBerth(t, "down")

	e2 := parityEnv(t, `services:
  test:
    image: alpine
    depends_on: [db]
  db:
    provider:
      type: no-such-provider-here
`)
	r = e2.Berth(t, "up", "-d")
	wantCode(t, r, 1, "up with a missing provider")
	wantOut(t, r, `provider "no-such-provider-here" not found`)
	expect(t, e2, ServiceNotCreated("test"))
}
