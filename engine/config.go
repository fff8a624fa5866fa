package engine

import (
	"errors"
	"fmt"
	"net"
	"os"

	"go.yaml.in/yaml/v4"

	"github.com/berth-dev/berth/network/ipam"
)

// networkPool is the IPAM option of the configured subnet pool (none:
// the default pool). The config file is read once per Engine: one
// command's networks all come from one pool.
func (e *Engine) networkPool() ([]ipam.Opt, error) {
	e.poolOnce.Do(func() {
		pool, size, err := e.poolConfig()
		if err != nil || pool == nil {
			e.poolErr = err
			return
		}
		e.poolOpts = []ipam.Opt{ipam.WithPool(pool, size)}
	})
	return e.poolOpts, e.poolErr
}

// poolConfig reads the subnet pool from berth's config file
// ($BERTH_ROOT/config.yaml, else /etc/berth/config.yaml); nil when none
// is configured:
//
//	network:
//	  pool: 10.89.0.0/16   # where project subnets are cut from
//	  size: 24             # their prefix length
func (e *Engine) poolConfig() (*net.IPNet, int, error) {
	for _, path := range []string{e.layout.Config(), "/etc/berth/config.yaml"} {
		data, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, err
		}
		var cfg struct {
			Network struct {
				Pool string `yaml:"pool"`
				Size int    `yaml:"size"`
			} `yaml:"network"`
		}
		if err := yaml.Unmarshal(data, &cfg); err != nil {
			return nil, 0, fmt.Errorf("config %s: %w", path, err)
		}
		if cfg.Network.Pool == "" {
			return nil, 0, nil
		}
		_, pool, err := net.ParseCIDR(cfg.Network.Pool)
		if err != nil || pool.IP.To4() == nil {
			return nil, 0, fmt.Errorf("config %s: network.pool %q: want an IPv4 CIDR like 10.89.0.0/16", path, cfg.Network.Pool)
		}
		ones, _ := pool.Mask.Size()
		size := cfg.Network.Size
		if size == 0 {
			size = 24
		}
		if size < ones || size > 30 {
			return nil, 0, fmt.Errorf("config %s: network.size %d: want a prefix length between %d and 30", path, size, ones)
		}
		return pool, size, nil
	}
	return nil, 0, nil
}
