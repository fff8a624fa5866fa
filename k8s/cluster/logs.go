package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/berth-dev/berth/project"
)

// ErrNoPods is Logs finding no pod to read.
var ErrNoPods = errors.New("no pods")

// LogsOptions are `k8s logs`'s flags.
type LogsOptions struct {
	Services []string // none: every service
	Follow   bool
	Tail     *int64
	// Out receives every line prefixed with "POD | " (Compose's "web-1 | "),
	// whole lines at a time from concurrent streams.
	Out io.Writer
}

// Logs prints the logs of the project's pods (of the named services), found
// by the project and service labels, each container's stream in parallel.
func (c *Client) Logs(ctx context.Context, o LogsOptions) error {
	sel := c.selector()
	pods, err := c.kube.CoreV1().Pods(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: sel})
	if err != nil {
		return c.listErr("pods", err)
	}
	var picked []corev1.Pod
	for _, p := range pods.Items {
		if len(o.Services) == 0 || slices.Contains(o.Services, p.Labels[project.LabelService]) {
			picked = append(picked, p)
		}
	}
	if len(picked) == 0 {
		what := "the project"
		if len(o.Services) > 0 {
			what = "service " + strings.Join(o.Services, ", ")
		}
		return fmt.Errorf("%w of %s in namespace %s (a cluster without a scheduler or kubelet runs none)", ErrNoPods, what, c.Namespace)
	}
	slices.SortFunc(picked, func(a, b corev1.Pod) int { return strings.Compare(a.Name, b.Name) })
	w := &lineWriter{w: o.Out}
	eg, ctx := errgroup.WithContext(ctx)
	for _, p := range picked {
		for _, ct := range p.Spec.Containers {
			prefix := p.Name
			if len(p.Spec.Containers) > 1 {
				prefix += "/" + ct.Name
			}
			eg.Go(func() error {
				req := c.kube.CoreV1().Pods(c.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{Container: ct.Name, Follow: o.Follow, TailLines: o.Tail})
				rc, err := req.Stream(ctx)
				if err != nil {
					return fmt.Errorf("logs of %s: %w", prefix, err)
				}
				defer rc.Close()
				return w.copy(prefix, rc)
			})
		}
	}
	return eg.Wait()
}

type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) copy(prefix string, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		l.mu.Lock()
		_, err := fmt.Fprintf(l.w, "%s | %s\n", prefix, sc.Bytes())
		l.mu.Unlock()
		if err != nil {
			return err
		}
	}
	return sc.Err()
}
