package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := durations{}
	for i := 10; i >= 1; i-- {
		ten = append(ten, time.Duration(i)*time.Millisecond)
	}
	cases := []struct {
		name string
		ds   durations
		p    float64
		want float64
	}{
		{"empty", nil, 50, 0},
		{"one", durations{7 * time.Millisecond}, 99, 7},
		{"median of ten", ten, 50, 5},
		{"p95 of ten", ten, 95, 10},
		{"p99 of ten", ten, 99, 10},
		{"p10 of ten", ten, 10, 1},
	}
	for _, tc := range cases {
		if got := tc.ds.percentile(tc.p); got != tc.want {
			t.Errorf("%s: percentile(%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	if ten[0] != 10*time.Millisecond {
		t.Error("percentile sorted its receiver")
	}
}

func TestMedianOf(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{4, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tc := range cases {
		if got := medianOf(tc.xs); got != tc.want {
			t.Errorf("medianOf(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}
