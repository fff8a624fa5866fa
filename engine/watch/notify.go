package watch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"
	"golang.org/x/sys/unix"
)

// maxWatchesFile holds the per-user inotify watch limit (a variable for
// tests); nsWatchesFile the limit of this user namespace, lower in a
// container or a user namespace made for a test.
var (
	maxWatchesFile = "/proc/sys/fs/inotify/max_user_watches"
	nsWatchesFile  = "/proc/sys/user/max_inotify_watches"
)

// ErrWatchLimit: the trees hold more directories than inotify may watch.
var ErrWatchLimit = errors.New("inotify watch limit reached")

// LimitError says how many watches the trees need and what to raise.
type LimitError struct {
	Dirs  int    // directories to watch (one inotify watch each)
	Limit int    // the limit now
	Name  string // the sysctl that sets it: fs.inotify.max_user_watches, or this user namespace's user.max_inotify_watches
	InUse int    // watches this user's other processes hold, when known
}

func (e *LimitError) Error() string {
	need := e.Dirs + e.InUse
	name := e.Name
	if name == "" {
		name = "fs.inotify.max_user_watches"
	}
	return fmt.Sprintf("%v: watching needs %d inotify watches (one per directory) and %s is %d"+
		" (%d in use by other processes): raise it to at least %d, e.g. `sysctl -w %s=%d`,"+
		" or ignore large directories (develop.watch ignore, .dockerignore)",
		ErrWatchLimit, e.Dirs, name, e.Limit, e.InUse, need, name, roundUp(need))
}

func (e *LimitError) Unwrap() error { return ErrWatchLimit }

// roundUp rounds n up to a round figure for the advice.
func roundUp(n int) int {
	step := 1024
	for step*64 < n {
		step *= 2
	}
	return (n + step - 1) / step * step
}

// Notifier watches host trees recursively with inotify and reports each
// path that changed (created, written, removed, renamed, chmod). A
// directory made later is watched as it appears; a directory moved in is
// reported as itself (the plan expands it).
type Notifier struct {
	w      *fsnotify.Watcher
	roots  []string
	skip   func(dir string) bool
	events chan string
	errs   chan error
	done   chan struct{}
	once   sync.Once
	dirs   int
}

// Watch starts watching roots (directories, or files, whose parent
// directory is watched). skip tells directories not to look into (wholly
// ignored). The trees are counted first: when they hold more directories
// than the inotify limit allows, nothing is watched and the error says
// which sysctl to raise to what.
func Watch(roots []string, skip func(dir string) bool) (*Notifier, error) {
	if skip == nil {
		skip = func(string) bool { return false }
	}
	n := &Notifier{skip: skip, events: make(chan string, 1024), errs: make(chan error, 8), done: make(chan struct{})}
	var dirs []string
	for _, r := range roots {
		fi, err := os.Stat(r)
		switch {
		case err != nil:
			// not there yet: watch the nearest parent that is
			d := filepath.Dir(r)
			for d != "/" {
				if fi, err := os.Stat(d); err == nil && fi.IsDir() {
					break
				}
				d = filepath.Dir(d)
			}
			n.roots = append(n.roots, r)
			dirs = append(dirs, d)
			continue
		case !fi.IsDir():
			n.roots = append(n.roots, r)
			dirs = append(dirs, filepath.Dir(r))
			continue
		}
		n.roots = append(n.roots, r)
		count := 0
		walkDirs(r, skip, func(string) error { count++; return nil })
		n.dirs += count
		dirs = append(dirs, r)
	}
	if limit, name := readLimit(); limit > 0 && n.dirs > limit {
		return nil, &LimitError{Dirs: n.dirs, Limit: limit, Name: name, InUse: watchesInUse()}
	}
	w, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return nil, err
	}
	n.w = w
	for _, d := range dirs {
		if err := n.addTree(d); err != nil {
			w.Close()
			return nil, err
		}
	}
	go n.loop()
	return n, nil
}

// Dirs is the number of directories watched at the start.
func (n *Notifier) Dirs() int { return n.dirs }

// Events are the changed paths; closed by Close.
func (n *Notifier) Events() <-chan string { return n.events }

// Errors are errors of the watch (lost events, watches that could not be
// added); the watch goes on.
func (n *Notifier) Errors() <-chan error { return n.errs }

// Close stops watching.
func (n *Notifier) Close() error {
	var err error
	n.once.Do(func() {
		close(n.done)
		err = n.w.Close()
	})
	return err
}

// addTree watches dir and every directory beneath it that is not
// skipped; a root that is a file's parent is watched alone.
func (n *Notifier) addTree(dir string) error {
	recursive := false
	for _, r := range n.roots {
		if _, ok := relBeneath(r, dir); ok {
			recursive = true
			break
		}
	}
	add := func(d string) error {
		if err := n.w.Add(d); err != nil {
			if errors.Is(err, unix.ENOSPC) {
				limit, name := readLimit()
				return &LimitError{Dirs: n.countDirs(), Limit: limit, Name: name, InUse: watchesInUse()}
			}
			if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
				return nil // gone since it was seen
			}
			return fmt.Errorf("watch %s: %w", d, err)
		}
		return nil
	}
	if !recursive {
		return add(dir)
	}
	return walkDirs(dir, n.skip, add)
}

// countDirs counts the directories of the trees now (the tree may have
// grown since the start).
func (n *Notifier) countDirs() int {
	count := 0
	for _, r := range n.roots {
		if fi, err := os.Stat(r); err == nil && fi.IsDir() {
			walkDirs(r, n.skip, func(string) error { count++; return nil })
		}
	}
	return count
}

// walkDirs calls fn for dir and each directory beneath it, symlinks not
// followed, skipped ones not entered.
func walkDirs(dir string, skip func(string) bool, fn func(string) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if !d.IsDir() {
			return nil
		}
		if p != dir && skip(p) {
			return filepath.SkipDir
		}
		return fn(p)
	})
}

func (n *Notifier) loop() {
	defer close(n.events)
	for {
		select {
		case <-n.done:
			return
		case err, ok := <-n.w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// events were lost: every root is reported, so the plan
				// walks the trees again
				err = fmt.Errorf("inotify queue overflowed: syncing the whole watched trees again")
				for _, r := range n.roots {
					n.send(r)
				}
			}
			select {
			case n.errs <- err:
			default:
			}
		case ev, ok := <-n.w.Events:
			if !ok {
				return
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Lstat(ev.Name); err == nil && fi.IsDir() && !n.skip(ev.Name) {
					if err := n.addTree(ev.Name); err != nil {
						select {
						case n.errs <- err:
						default:
						}
					}
				}
			}
			n.send(ev.Name)
		}
	}
}

func (n *Notifier) send(p string) {
	select {
	case n.events <- p:
	case <-n.done:
	}
}

// readLimit is the inotify watch limit that binds (0 when unknown) and
// the sysctl that sets it: fs.inotify.max_user_watches, or the user
// namespace's own user.max_inotify_watches when that is lower.
func readLimit() (int, string) {
	read := func(p string) int {
		b, err := os.ReadFile(p)
		if err != nil {
			return 0
		}
		v, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return v
	}
	limit, name := read(maxWatchesFile), "fs.inotify.max_user_watches"
	if ns := read(nsWatchesFile); ns > 0 && (limit == 0 || ns < limit) {
		limit, name = ns, "user.max_inotify_watches"
	}
	return limit, name
}

// watchesInUse counts the inotify watches the processes of this user
// hold (each "inotify wd:" line of their fdinfo), for the advice of a
// LimitError.
func watchesInUse() int {
	uid := os.Getuid()
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	total := 0
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat("/proc/"+p.Name(), &st) != nil || int(st.Uid) != uid {
			continue
		}
		fds, err := os.ReadDir("/proc/" + p.Name() + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			link, err := os.Readlink("/proc/" + p.Name() + "/fd/" + fd.Name())
			if err != nil || link != "anon_inode:inotify" {
				continue
			}
			b, err := os.ReadFile("/proc/" + p.Name() + "/fdinfo/" + fd.Name())
			if err == nil {
				total += strings.Count(string(b), "inotify wd:")
			}
		}
	}
	return total
}
