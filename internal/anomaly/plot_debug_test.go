package anomaly

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlotNAB(t *testing.T) {
	debugOnly(t)
	c := loadNABOrSkip(t)
	m, err := NewModel(DefaultConfig())
	require.NoError(t, err)
	scores, alerts := c.Detect(m)
	const W, H = 1400, 220
	all := image.NewRGBA(image.Rect(0, 0, W, H*len(c.Files)))
	for i, f := range c.Files {
		img := image.NewRGBA(image.Rect(0, 0, W, H))
		n := len(f.Values)
		sv := append([]float64(nil), f.Values...)
		sort.Float64s(sv)
		lo, hi := sv[len(sv)/500], sv[len(sv)-1-len(sv)/500]
		_ = math.Inf
		prob := ProbationaryLength(n)
		for x := 0; x < W; x++ {
			k0 := x * n / W
			bg := color.RGBA{255, 255, 255, 255}
			if k0 < prob {
				bg = color.RGBA{230, 230, 230, 255}
			}
			for _, w := range f.Windows {
				if !f.Timestamps[k0].Before(w.Start) && !f.Timestamps[k0].After(w.End) {
					bg = color.RGBA{255, 220, 220, 255}
				}
			}
			for y := 0; y < H; y++ {
				img.Set(x, y, bg)
			}
		}
		for k, v := range f.Values {
			x := k * W / n
			y := H - 1 - int((math.Max(lo, math.Min(hi, v))-lo)/(hi-lo+1e-12)*float64(H-110)) - 100
			img.Set(x, y, color.RGBA{0, 0, 200, 255})
			ys := H - 1 - int(scores[i][k]*90)
			img.Set(x, ys, color.RGBA{0, 150, 0, 255})
			if alerts[i][k] {
				for y := 0; y < 10; y++ {
					img.Set(x, y, color.RGBA{255, 0, 0, 255})
				}
			}
		}
		for x := 0; x < W; x++ {
			img.Set(x, H-1-int(m.cfg.Threshold*90), color.RGBA{200, 0, 0, 255})
		}
		for x := 0; x < W; x++ {
			for y := 0; y < H; y++ {
				all.Set(x, i*H+y, img.At(x, y))
			}
		}
		all.Set(0, 0, color.Black)
	}
	out, _ := os.Create(filepath.Join(os.TempDir(), "nab_all.png"))
	png.Encode(out, all)
	out.Close()
}
