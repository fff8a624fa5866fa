package ociruntime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/moby/sys/user"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUserNotFound is wrapped by errors about a user or group missing from
// the container's /etc/passwd or /etc/group.
var ErrUserNotFound = errors.New("not found")

// ResolvedUser is a `user:` value resolved against the container's files.
type ResolvedUser struct {
	UID, GID       uint32
	AdditionalGids []uint32
	Home           string
}

// ResolveUser resolves spec (`name`, `uid`, `uid:gid`, `name:group`, empty
// for root) and the group_add entries (names or gids) against /etc/passwd and
// /etc/group inside rootfs, read through os.Root so that no symlink in the
// image can make berth read a host file, and parsed by moby/sys/user (the
// parser runc and Docker use). Supplementary groups are the groups
// listing the user as a member, then groupAdd. A numeric uid missing from
// /etc/passwd is allowed (gid 0, home "/"), as Docker; a name is not.
func ResolveUser(rootfs, spec string, groupAdd []string) (ResolvedUser, error) {
	users, groups, err := readUserFiles(rootfs)
	if err != nil {
		return ResolvedUser{}, err
	}
	uname, gname, hasGroup := strings.Cut(spec, ":")
	if uname == "" {
		uname = "0"
	}
	r := ResolvedUser{Home: "/"}
	var entry *user.User
	if id, ok := parseID(uname); ok {
		r.UID = id
		for i := range users {
			if users[i].Uid == int(id) {
				entry = &users[i]
				break
			}
		}
	} else {
		for i := range users {
			if users[i].Name == uname {
				entry = &users[i]
				break
			}
		}
		if entry == nil {
			return ResolvedUser{}, fmt.Errorf("user %q: %w in the container's /etc/passwd", uname, ErrUserNotFound)
		}
		r.UID = uint32(entry.Uid)
	}
	if entry != nil {
		r.GID = uint32(entry.Gid)
		if entry.Home != "" {
			r.Home = entry.Home
		}
	}
	if hasGroup {
		gid, err := lookupGroup(groups, gname)
		if err != nil {
			return ResolvedUser{}, err
		}
		r.GID = gid
	}
	seen := map[uint32]bool{}
	add := func(g uint32) {
		if !seen[g] {
			seen[g] = true
			r.AdditionalGids = append(r.AdditionalGids, g)
		}
	}
	if entry != nil {
		for _, g := range groups {
			for _, m := range g.List {
				if m == entry.Name {
					add(uint32(g.Gid))
				}
			}
		}
	}
	for _, ga := range groupAdd {
		gid, err := lookupGroup(groups, ga)
		if err != nil {
			return ResolvedUser{}, fmt.Errorf("group_add: %w", err)
		}
		add(gid)
	}
	return r, nil
}

func lookupGroup(groups []user.Group, g string) (uint32, error) {
	if id, ok := parseID(g); ok {
		return id, nil
	}
	for _, e := range groups {
		if e.Name == g {
			return uint32(e.Gid), nil
		}
	}
	return 0, fmt.Errorf("group %q: %w in the container's /etc/group", g, ErrUserNotFound)
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// readUserFiles reads the rootfs's /etc/passwd and /etc/group; a missing
// file is empty. Comment lines and entries with ids out of range are left
// out.
func readUserFiles(rootfs string) ([]user.User, []user.Group, error) {
	if rootfs == "" {
		return nil, nil, nil
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, nil, fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	defer root.Close()
	var users []user.User
	err = readRootFile(root, "etc/passwd", func(r io.Reader) (err error) {
		users, err = user.ParsePasswdFilter(r, func(u user.User) bool {
			return !strings.HasPrefix(u.Name, "#") && validID(u.Uid) && validID(u.Gid)
		})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	var groups []user.Group
	err = readRootFile(root, "etc/group", func(r io.Reader) (err error) {
		groups, err = user.ParseGroupFilter(r, func(g user.Group) bool { return validID(g.Gid) })
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return users, groups, nil
}

func validID(id int) bool { return id >= 0 && id <= math.MaxUint32 }

// readRootFile opens name beneath root (a missing file is not an error:
// parse is not called) and parses at most 16 MiB of it.
func readRootFile(root *os.Root, name string, parse func(io.Reader) error) error {
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read container's /%s: %w", name, err)
	}
	defer f.Close()
	if err := parse(io.LimitReader(f, 16<<20)); err != nil {
		return fmt.Errorf("read container's /%s: %w", name, err)
	}
	return nil
}

// WithUser resolves user and groupAdd in rootfs (see ResolveUser) and sets
// the process user, and HOME when the environment has none. Non-root users
// keep no inheritable or ambient capabilities (as Docker 25+).
func WithUser(rootfs, user string, groupAdd []string) SpecOpt {
	return func(s *specs.Spec) error {
		r, err := ResolveUser(rootfs, user, groupAdd)
		if err != nil {
			return err
		}
		p := ensureProcess(s)
		p.User = specs.User{UID: r.UID, GID: r.GID, AdditionalGids: r.AdditionalGids}
		return WithEnvDefault("HOME", r.Home)(s)
	}
}
