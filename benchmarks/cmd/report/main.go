// Command report reads the output of `go test -bench` from the benchmarks
// module and writes a Markdown table of the medians and a chart of W1 and W3.
//
// Usage, from the benchmarks directory:
//
//	go run ./cmd/report [-in results/bench.txt] [-md results.md] [-chart chart.png]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	in := flag.String("in", "results/bench.txt", "`go test -bench` output to read")
	md := flag.String("md", "results.md", "Markdown file to write")
	chart := flag.String("chart", "chart.png", "chart to write (.png or .svg); empty for none")
	flag.Parse()
	if err := run(*in, *md, *chart); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

func run(in, md, chart string) error {
	r, err := os.Open(in)
	if err != nil {
		return err
	}
	f, err := Parse(r)
	if err := errors.Join(err, r.Close()); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if len(f.Results) == 0 {
		return fmt.Errorf("%s: no benchmark results", in)
	}
	out, err := os.Create(md)
	if err != nil {
		return err
	}
	err = WriteMarkdown(out, f, in)
	if err := errors.Join(err, out.Close()); err != nil {
		return err
	}
	fmt.Println("wrote", md)
	if chart == "" {
		return nil
	}
	if err := WriteChart(chart, f); err != nil {
		return err
	}
	fmt.Println("wrote", chart)
	return nil
}
