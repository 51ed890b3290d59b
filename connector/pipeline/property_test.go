package pipeline

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/extract-dev/extract/connector"
	"github.com/extract-dev/extract/connector/netsuitetest"
)

var propertySeeds = flag.Int("property.seeds", 3, "seeds for TestPropertyOutputEqualsNetSuite (more: go test -run Property -property.seeds=50)")

// TestPropertyOutputEqualsNetSuite: while a mutator changes NetSuite — updates to random
// and to the lowest ids, bursts inside the current cursor second, inserts, deletes — and
// the session clock runs across the autumn clock change, extracts run again and again.
// After the mutator stops and one final run, the output merged by id equals NetSuite
// exactly: nothing missing, no stale version, no deleted id.
func TestPropertyOutputEqualsNetSuite(t *testing.T) {
	for seed := 1; seed <= *propertySeeds; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) { propertyRun(t, uint64(seed)) })
	}
}

// acceleratedClock runs NetSuite's clock fast from a start instant, so that a few seconds
// of test cover hours of NetSuite time (and a clock change).
type acceleratedClock struct {
	mu    sync.Mutex
	start time.Time
	base  time.Time
	speed time.Duration
}

func (c *acceleratedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.start) * c.speed)
}

func propertyRun(t *testing.T, seed uint64) { propertyRunWith(t, seed, Options{}) }

// propertyRunWith runs the property with opts for every run (FileRows varies per run).
func propertyRunWith(t *testing.T, seed uint64, opts Options) {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	// 00:00 PDT on 3 Nov 2024: the repeated hour (08:00–10:00 UTC) is 1–4 s of test away.
	clock := &acceleratedClock{start: time.Now(), base: time.Date(2024, 11, 3, 7, 0, 0, 0, time.UTC), speed: 1800}
	streams := []string{connector.Customer, connector.Task, connector.PhoneCall}
	rows := map[string]int{}
	for _, s := range streams {
		rows[s] = 800
	}
	h := newHarness(t, netsuitetest.Options{Rows: rows, Seed: int64(seed), Now: clock.Now})

	type op struct{ updates, lowUpdates, bursts, inserts, deletes int }
	var done op
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		nextID := int64(50_000_000)
		for {
			select {
			case <-stop:
				return
			default:
			}
			stream := streams[rng.IntN(len(streams))]
			truth := h.srv.Truth(stream)
			if len(truth) == 0 {
				continue
			}
			switch r := rng.IntN(100); {
			case r < 40:
				id := truth[rng.IntN(len(truth))]["id"]
				h.srv.Upsert(stream, change(stream, id, fmt.Sprint("v", rng.Uint32())))
				done.updates++
			case r < 60:
				id := truth[rng.IntN(min(20, len(truth)))]["id"] // the keyset passed these long ago
				h.srv.Upsert(stream, change(stream, id, fmt.Sprint("low", rng.Uint32())))
				done.lowUpdates++
			case r < 70:
				// Several changes landing in one cursor second.
				for i := 0; i < 5; i++ {
					id := truth[rng.IntN(len(truth))]["id"]
					h.srv.Upsert(stream, change(stream, id, fmt.Sprint("burst", i)))
				}
				done.bursts++
			case r < 88:
				nextID++
				h.srv.Upsert(stream, change(stream, nextID, "new"))
				done.inserts++
			default:
				h.srv.Delete(stream, truth[rng.IntN(len(truth))]["id"].(int64))
				done.deletes++
			}
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
		}
	}()
	runs := 0
	sizes := rand.New(rand.NewPCG(seed, 0xf11e)) // the mutator owns rng
	for deadline := time.Now().Add(4 * time.Second); time.Now().Before(deadline); runs++ {
		o := opts
		o.FileRows = int64(200 + sizes.IntN(800))
		h.mustRun(streams, o)
	}
	close(stop)
	wg.Wait()
	// A run whose start falls inside the repeated hour can only promise what came before
	// that hour (its wall times cannot bound a query); the final run starts after it.
	for !clock.Now().After(time.Date(2024, 11, 3, 10, 0, 1, 0, time.UTC)) {
		time.Sleep(10 * time.Millisecond)
	}
	h.mustRun(streams, opts)
	for _, s := range streams {
		h.assertMatchesTruth(s)
	}
	t.Logf("seed %d: %d runs while mutating (%+v), NetSuite clock %s → %s", seed, runs+1, done,
		clock.base.Format(time.RFC3339), clock.Now().Format(time.RFC3339))
}

// change is an update of a record's text column (every stream has one).
func change(stream string, id any, text string) netsuitetest.Row {
	col := "title"
	if stream == connector.Customer {
		col = "companyname"
	}
	return netsuitetest.Row{"id": id, col: text}
}
