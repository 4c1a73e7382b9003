package anomaly

import "time"

// Replay scores a whole series through the online detector, sample by sample,
// exactly as a server would score it live. It returns each sample's score and
// whether it raised an alert.
func Replay(m *Model, ts []time.Time, values []float64) (scores []float64, alerts []bool) {
	var s State
	scores = make([]float64, len(values))
	alerts = make([]bool, len(values))
	for i, v := range values {
		scores[i], alerts[i] = m.Update(&s, ts[i].UnixNano(), v)
	}
	return scores, alerts
}

// Detect replays every corpus file through a fresh detector.
func (c *Corpus) Detect(m *Model) (scores [][]float64, alerts [][]bool) {
	for _, f := range c.Files {
		s, a := Replay(m, f.Timestamps, f.Values)
		scores = append(scores, s)
		alerts = append(alerts, a)
	}
	return scores, alerts
}

// AlertScores turns alerts into NAB scores (1 for an alert, 0 otherwise), so the
// alerts themselves can be scored at any threshold in (0, 1].
func AlertScores(alerts [][]bool) [][]float64 {
	out := make([][]float64, len(alerts))
	for i, a := range alerts {
		out[i] = make([]float64, len(a))
		for k, on := range a {
			if on {
				out[i][k] = 1
			}
		}
	}
	return out
}
