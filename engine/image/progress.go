package image

import (
	"io"
	"sync/atomic"
)

// Status is the state of one layer (or of the whole image) in a pull,
// worded as Docker does.
type Status string

// Layer and image statuses, in the order a layer goes through them.
const (
	StatusResolving     Status = "Resolving"
	StatusWaiting       Status = "Waiting"
	StatusDownloading   Status = "Downloading"
	StatusExtracting    Status = "Extracting"
	StatusAlreadyExists Status = "Already exists"
	StatusPullComplete  Status = "Pull complete"
	StatusFailed        Status = "Failed"
	// StatusDone is the image-level event sent once all layers are in.
	StatusDone Status = "Pulled"
)

// Event reports progress of one layer (Layer set) or of the image.
type Event struct {
	Image   string // the reference as given
	Layer   string // short layer digest (12 hex), empty for image events
	Status  Status
	Current int64  // bytes done
	Total   int64  // bytes expected, 0 when unknown
	From    string // StatusMounted: the repository the layer was mounted from
}

// ProgressFunc receives events; it is called from several goroutines at
// once and must not block for long.
type ProgressFunc func(Event)

func (p ProgressFunc) send(e Event) {
	if p != nil {
		p(e)
	}
}

// progressReader counts bytes read and reports every step bytes.
type progressReader struct {
	r      io.Reader
	n      atomic.Int64
	last   int64
	step   int64
	report func(n int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	total := p.n.Add(int64(n))
	if p.report != nil && (total-p.last >= p.step || (err == io.EOF && total != p.last)) {
		p.last = total
		p.report(total)
	}
	return n, err
}
