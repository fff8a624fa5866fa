package image

import (
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/internal/layout"
)

// Config is the registry part of berth's config file and environment.
type Config struct {
	// Mirrors maps a registry ("docker.io", "ghcr.io") to mirrors tried in
	// order before it: "host[:port][/path-prefix]", optionally with an
	// http:// (plain HTTP) or https:// scheme.
	Mirrors map[string][]string `yaml:"mirrors"`
	// Insecure registries are spoken to over plain HTTP.
	Insecure []string `yaml:"insecure"`
}

// Environment variables that add to or override the config file.
const (
	EnvMirrors  = "BERTH_REGISTRY_MIRRORS"    // "docker.io=127.0.0.1:5000,other.io=host:port"
	EnvInsecure = "BERTH_INSECURE_REGISTRIES" // "myhost:5000,other:80"
)

// DefaultConfigPaths are read in order; the first that exists is used.
func DefaultConfigPaths() []string {
	return []string{layout.FromEnv().Config(), "/etc/berth/config.yaml"}
}

// LoadConfig reads the first existing file of paths (DefaultConfigPaths
// when none is given), then applies BERTH_REGISTRY_MIRRORS (which replaces
// the file's mirrors of the registries it names) and
// BERTH_INSECURE_REGISTRIES (which adds). No file at all is not an error.
func LoadConfig(paths ...string) (*Config, error) {
	if len(paths) == 0 {
		paths = DefaultConfigPaths()
	}
	cfg := &Config{Mirrors: map[string][]string{}}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", p, err)
		}
		var file struct {
			Registry Config `yaml:"registry"`
		}
		if err := yaml.Unmarshal(data, &file); err != nil {
			return nil, fmt.Errorf("config %s: %w", p, err)
		}
		for reg, ms := range file.Registry.Mirrors {
			if err := cfg.addMirrors(reg, ms, false); err != nil {
				return nil, fmt.Errorf("config %s: registry.mirrors: %w", p, err)
			}
		}
		cfg.Insecure = append(cfg.Insecure, file.Registry.Insecure...)
		break
	}
	if env := os.Getenv(EnvMirrors); env != "" {
		replaced := map[string]bool{}
		for _, item := range splitList(env) {
			reg, m, ok := strings.Cut(item, "=")
			if !ok || strings.TrimSpace(reg) == "" || strings.TrimSpace(m) == "" {
				return nil, fmt.Errorf("%s: %q is not registry=mirror", EnvMirrors, item)
			}
			key := registryKey(reg)
			if err := cfg.addMirrors(reg, []string{m}, !replaced[key]); err != nil {
				return nil, fmt.Errorf("%s: %w", EnvMirrors, err)
			}
			replaced[key] = true
		}
	}
	cfg.Insecure = append(cfg.Insecure, splitList(os.Getenv(EnvInsecure))...)
	for i, h := range cfg.Insecure {
		cfg.Insecure[i] = registryKey(h)
	}
	return cfg, nil
}

func (c *Config) addMirrors(reg string, mirrors []string, replace bool) error {
	if c.Mirrors == nil {
		c.Mirrors = map[string][]string{}
	}
	key := registryKey(reg)
	if replace {
		c.Mirrors[key] = nil
	}
	for _, m := range mirrors {
		m = strings.TrimSpace(m)
		if m == "" {
			return fmt.Errorf("empty mirror for %s", reg)
		}
		host := m
		if rest, ok := strings.CutPrefix(m, "http://"); ok {
			host = rest
			h, _, _ := strings.Cut(rest, "/")
			if !slices.Contains(c.Insecure, h) {
				c.Insecure = append(c.Insecure, h)
			}
		} else {
			host = strings.TrimPrefix(m, "https://")
		}
		host = strings.TrimSuffix(host, "/")
		if host == "" || strings.ContainsAny(host, " \t") {
			return fmt.Errorf("bad mirror %q for %s", m, reg)
		}
		c.Mirrors[key] = append(c.Mirrors[key], host)
	}
	return nil
}

// MirrorsFor lists the mirrors of registry (any spelling of Docker Hub
// matches "docker.io").
func (c *Config) MirrorsFor(registry string) []string {
	if c == nil {
		return nil
	}
	return c.Mirrors[registryKey(registry)]
}

// IsInsecure reports whether registry speaks plain HTTP: localhost,
// 127.0.0.0/8, ::1 and the configured insecure registries.
func (c *Config) IsInsecure(registry string) bool {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	if c == nil {
		return false
	}
	key := registryKey(registry)
	return slices.Contains(c.Insecure, key) || slices.Contains(c.Insecure, host)
}

// registryKey normalizes a registry name; all of Docker Hub's names become
// "docker.io".
func registryKey(reg string) string {
	reg = strings.TrimSpace(reg)
	reg = strings.TrimPrefix(strings.TrimPrefix(reg, "https://"), "http://")
	reg = strings.TrimSuffix(reg, "/")
	switch reg {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return "docker.io"
	}
	return reg
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
