//go:build !unix

package main

import "time"

// processCPU is not measured here: cpu-ratio then reports NaN.
func processCPU() time.Duration { return 0 }
