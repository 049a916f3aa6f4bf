package bench

import (
	"math"
	"slices"
	"time"
)

// durations summarises measured durations.
type durations []time.Duration

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) in
// milliseconds, or 0 when there is no sample.
func (ds durations) percentile(p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	sorted := slices.Clone(ds)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return ms(sorted[rank-1])
}

// median is the 50th percentile in milliseconds.
func (ds durations) median() float64 { return ds.percentile(50) }

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// mib is n bytes in MiB.
func mib(n int64) float64 { return float64(n) / (1 << 20) }

// medianOf returns the median of xs, 0 when empty.
func medianOf(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
