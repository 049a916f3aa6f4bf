// Command kubecp builds the control plane's programs into the cache.
package main

import (
	"fmt"
	"log"
	"os"

	"github.com/quell-ir/quell/internal/kubecp"
)

func main() {
	bins, err := kubecp.Build(log.Printf)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubecp:", err)
		os.Exit(1)
	}
	for name, bin := range bins {
		fmt.Println(name, bin)
	}
}
