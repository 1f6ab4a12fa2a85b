package main

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The groups the chart shows.
const (
	chartW1 = "W1Throughput/body=empty/submitters=1"
	chartW3 = "W3Priority"
)

// A series is one set of bars: a value per pool.
type series struct {
	name   string
	values []float64
	color  color.Color
}

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff}
)

// WriteChart renders W1 (empty body, 1 submitter: wall and CPU ns per task)
// and W3 (critical start delay p50 and p99) side by side, as PNG or SVG by
// path's extension.
func WriteChart(path string, f *File) error {
	w1, err := barPlot(f, chartW1, "W1: empty task, 1 submitter", "ns per task (less is better)",
		1, []string{"wall-ns/task", "cpu-ns/task"}, []string{"wall", "CPU"})
	if err != nil {
		return err
	}
	w3, err := barPlot(f, chartW3, "W3: critical task start delay", "ms (less is better)",
		1e-3, []string{"p50-us", "p99-us"}, []string{"p50", "p99"})
	if err != nil {
		return err
	}

	width, height := 28*vg.Centimeter, 12*vg.Centimeter
	var c interface {
		vg.CanvasSizer
		io.WriterTo
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		c = vgimg.PngCanvas{Canvas: vgimg.New(width, height)}
	case ".svg":
		c = vgsvg.New(width, height)
	default:
		return fmt.Errorf("chart %s: want a .png or .svg file, got %q", path, ext)
	}
	dc := draw.New(c)
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Centimeter, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	plots := [][]*plot.Plot{{w1, w3}}
	canvases := plot.Align(plots, tiles, dc)
	w1.Draw(canvases[0][0])
	w3.Draw(canvases[0][1])

	out, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = c.WriteTo(out)
	return errors.Join(err, out.Close())
}

// barPlot draws, for the group named name, one horizontal bar per pool and
// unit, scaled by scale, with each bar's value written beside it.
func barPlot(f *File, name, title, axis string, scale float64, units, labels []string) (
	*plot.Plot, error,
) {
	var pools []string
	ss := []*series{{name: labels[0], color: blue}, {name: labels[1], color: orange}}
	for _, r := range f.Results {
		if r.Workload()+suffix(r.Group()) != name {
			continue
		}
		pools = append(pools, r.Pool())
		for i, u := range units {
			v, _ := r.Median(u)
			ss[i].values = append(ss[i].values, v*scale)
		}
	}
	if len(pools) == 0 {
		return nil, fmt.Errorf("chart: no results for %s", name)
	}
	// Draw the first pool at the top.
	reverse(pools)
	for _, s := range ss {
		reverse(s.values)
	}

	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = axis
	p.X.Min = 0
	p.Legend.Top = true
	const barWidth = 7
	top := 0.0
	for i, s := range ss {
		bars, err := plotter.NewBarChart(plotter.Values(s.values), vg.Points(barWidth))
		if err != nil {
			return nil, err
		}
		bars.Horizontal = true
		bars.Color = s.color
		bars.LineStyle.Width = 0
		// The first series sits above the second in each pool's row.
		bars.Offset = vg.Points(barWidth/2 - barWidth*float64(i))
		p.Add(bars)
		p.Legend.Add(s.name, bars)

		lbl, err := valueLabels(s.values, bars.Offset)
		if err != nil {
			return nil, err
		}
		p.Add(lbl)
		for _, v := range s.values {
			top = max(top, v)
		}
	}
	p.X.Max = top * 1.3 // room for the value labels
	p.NominalY(pools...)
	return p, nil
}

// valueLabels writes each value at the end of its bar.
func valueLabels(values []float64, offset vg.Length) (*plotter.Labels, error) {
	xy := plotter.XYLabels{XYs: make(plotter.XYs, len(values)), Labels: make([]string, len(values))}
	for i, v := range values {
		xy.XYs[i] = plotter.XY{X: v, Y: float64(i)}
		xy.Labels[i] = format(v)
	}
	l, err := plotter.NewLabels(xy)
	if err != nil {
		return nil, err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Size = vg.Points(7)
		l.TextStyle[i].YAlign = -0.5
	}
	l.Offset = vg.Point{X: vg.Points(3), Y: offset}
	return l, nil
}

// suffix returns "/"+group, or "" for the empty group.
func suffix(group string) string {
	if group == "" {
		return ""
	}
	return "/" + group
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
