package budget

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// A constructed history: 100 a weekday, 30 on Saturdays and Sundays, for two
// months. On Wednesday 2026-11-18 the run rate is 4×(5×100 + 2×30)/28 = 80
// and the profile is 100/80 on weekdays and 30/80 at weekends, so every day to
// come is forecast at exactly what it spends: the month ends at its true
// total, and the budget runs out on the day the cumulative spend reaches it.
func TestForecastFollowsRunRateAndWeekdayProfile(t *testing.T) {
	t.Parallel()
	s := Series{}
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	daily := func(day time.Time) decimal.Decimal {
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			return d("30")
		}
		return d("100")
	}
	var total decimal.Decimal
	for day := month.AddDate(0, -2, 0); day.Before(month.AddDate(0, 1, 0)); day = day.AddDate(0, 0, 1) {
		s[day] = daily(day)
		if !day.Before(month) {
			total = total.Add(daily(day))
		}
	}
	today := time.Date(2026, 11, 18, 0, 0, 0, 0, time.UTC)
	// Today is billed only partly so far.
	s[today] = d("40")
	f := forecastMonth(s, month, today, d("1500"))
	require.True(t, f.EndOfMonth.Equal(total), "end of month %s, want %s", f.EndOfMonth, total)
	require.Len(t, f.Days, 30)
	require.NotNil(t, f.Days[16].Actual)
	require.Nil(t, f.Days[17].Actual)
	require.True(t, f.Days[17].Forecast.Equal(d("100")), "today forecast at the weekday rate, not its partial bill")
	// Spend to date: the 1st to the 17th, plus today's 40.
	var spent decimal.Decimal
	for day := month; day.Before(today); day = day.AddDate(0, 0, 1) {
		spent = spent.Add(daily(day))
	}
	require.True(t, f.Spend.Equal(spent.Add(d("40"))), "spend %s", f.Spend)
	// 1,500 is reached on the day the cumulative first passes it.
	var cum decimal.Decimal
	var want time.Time
	for day := month; ; day = day.AddDate(0, 0, 1) {
		cum = cum.Add(daily(day))
		if cum.GreaterThanOrEqual(d("1500")) {
			want = day
			break
		}
	}
	require.NotNil(t, f.RunsOutOn)
	require.Equal(t, want, *f.RunsOutOn)
	// A budget above the forecast does not run out within the month.
	require.Nil(t, forecastMonth(s, month, today, total.Add(d("1"))).RunsOutOn)

	// The pattern repeats exactly, so past mid-month forecasts are exact.
	e, n := measureError(s, month)
	require.Equal(t, 1, n, "October is the one month with four weeks of history before its 15th")
	require.InDelta(t, 0, e, 1e-9)
	f.MeasuredErrorPercent = &e
	f.band(month, today)
	require.True(t, f.Low.Equal(f.EndOfMonth) && f.High.Equal(f.EndOfMonth))
}

// A month of rising spend is forecast low on its 15th; the error is the
// absolute difference over the actual total, and the band widens with it.
func TestMeasuredErrorAndBand(t *testing.T) {
	t.Parallel()
	s := Series{}
	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	for day := start; day.Before(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)); day = day.AddDate(0, 0, 1) {
		s[day] = decimal.NewFromInt(int64(day.Sub(start).Hours()/24) + 1)
	}
	current := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	e, n := measureError(s, current)
	require.Equal(t, 2, n, "September and October")
	require.Greater(t, e, 1.0)
	require.Less(t, e, 20.0)
	f := forecastMonth(s, current, current.AddDate(0, 0, 3), d("100000"))
	f.MeasuredErrorPercent = &e
	f.band(current, current.AddDate(0, 0, 3))
	require.True(t, f.Low.LessThan(f.EndOfMonth) && f.High.GreaterThan(f.EndOfMonth))
	// Without history the forecast is zero and nothing runs out.
	z := forecastMonth(Series{}, current, current.AddDate(0, 0, 3), d("10"))
	require.True(t, z.EndOfMonth.IsZero())
	require.Nil(t, z.RunsOutOn)
}

func TestBackoffDoublesWithJitterUpToTheCap(t *testing.T) {
	t.Parallel()
	c := WebhookConfig{BaseDelay: 10 * time.Second, MaxDelay: time.Minute}.WithDefaults()
	r := newTestRand()
	for n, step := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: time.Minute, 40: time.Minute} {
		for range 50 {
			w := c.Backoff(n, r)
			require.GreaterOrEqual(t, w, step/2, "attempt %d", n)
			require.LessOrEqual(t, w, step, "attempt %d", n)
		}
	}
}
