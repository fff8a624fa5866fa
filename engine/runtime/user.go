package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"

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

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

// ResolveUser resolves user (`name`, `uid`, `uid:gid`, `name:group`, empty
// for root) and the group_add entries (names or gids) against /etc/passwd and
// /etc/group inside rootfs, read through os.Root so that no symlink in the
// image can make berth read a host file. Supplementary groups are the groups
// listing the user as a member, then groupAdd. A numeric uid missing from
// /etc/passwd is allowed (gid 0, home "/"), as Docker; a name is not.
func ResolveUser(rootfs, user string, groupAdd []string) (ResolvedUser, error) {
	users, groups, err := readUserFiles(rootfs)
	if err != nil {
		return ResolvedUser{}, err
	}
	uname, gname, hasGroup := strings.Cut(user, ":")
	if uname == "" {
		uname = "0"
	}
	r := ResolvedUser{Home: "/"}
	var entry *passwdEntry
	if id, ok := parseID(uname); ok {
		r.UID = id
		for i := range users {
			if users[i].uid == id {
				entry = &users[i]
				break
			}
		}
	} else {
		for i := range users {
			if users[i].name == uname {
				entry = &users[i]
				break
			}
		}
		if entry == nil {
			return ResolvedUser{}, fmt.Errorf("user %q: %w in the container's /etc/passwd", uname, ErrUserNotFound)
		}
		r.UID = entry.uid
	}
	if entry != nil {
		r.GID = entry.gid
		if entry.home != "" {
			r.Home = entry.home
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
			for _, m := range g.members {
				if m == entry.name {
					add(g.gid)
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

func lookupGroup(groups []groupEntry, g string) (uint32, error) {
	if id, ok := parseID(g); ok {
		return id, nil
	}
	for _, e := range groups {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, fmt.Errorf("group %q: %w in the container's /etc/group", g, ErrUserNotFound)
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

func readUserFiles(rootfs string) ([]passwdEntry, []groupEntry, error) {
	if rootfs == "" {
		return nil, nil, nil
	}
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return nil, nil, fmt.Errorf("rootfs %s: %w", rootfs, err)
	}
	defer root.Close()
	var users []passwdEntry
	var groups []groupEntry
	err = readColonFile(root, "etc/passwd", func(f []string) {
		if len(f) < 4 {
			return
		}
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			return
		}
		e := passwdEntry{name: f[0], uid: uid, gid: gid}
		if len(f) > 5 {
			e.home = f[5]
		}
		users = append(users, e)
	})
	if err != nil {
		return nil, nil, err
	}
	err = readColonFile(root, "etc/group", func(f []string) {
		if len(f) < 3 {
			return
		}
		gid, ok := parseID(f[2])
		if !ok {
			return
		}
		e := groupEntry{name: f[0], gid: gid}
		if len(f) > 3 && f[3] != "" {
			e.members = strings.Split(f[3], ",")
		}
		groups = append(groups, e)
	})
	if err != nil {
		return nil, nil, err
	}
	return users, groups, nil
}

// readColonFile calls fn with the fields of each line; a missing file is empty.
func readColonFile(root *os.Root, name string, fn func([]string)) error {
	f, err := root.Open(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read container's /%s: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 16<<20))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn(strings.Split(line, ":"))
	}
	if err := sc.Err(); err != nil {
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
