package budget

import (
	"time"

	"github.com/shopspring/decimal"
)

// The forecast (docs/cost.md "Budgets"): a run rate shaped by a weekday
// profile, both from the four complete weeks before today. A day still to
// come is forecast as
//
//	rate × profile[weekday]
//	rate            = mean spend per day over the 28 complete days before today
//	profile[w]      = mean spend on weekday w ÷ mean spend per day, over the same 28 days (1 when they spent nothing)
//
// Today, partly billed, is forecast as at least what it has been billed so
// far. The end of the month is the month's actual spend up to yesterday plus
// the forecast of the days from today on. The trailing window reaches into
// the previous month, so the 1st has a forecast too.
//
// Why four weeks and not the trailing week: on the demo fleet's bills
// (TestForecastErrorOnDemoHistory) the mid-month error of BU forecasts is
// 3.5% with a 28-day rate, 7.7% with 14 days, 11.9% with 7 days, and 10.2%
// for month-to-date stretched over the month; a week is too short to
// average out the BUs' bursty jobs. The price is a slower answer to a step
// change of spend (fully reflected after four weeks); SPEND alerts, read
// from the bills, are not affected.

// Method describes the forecast in words (BudgetForecast.method).
const Method = "run rate of the trailing 4 weeks × their weekday profile"

// profileDays is the trailing window of the forecast (four whole weeks).
const (
	profileDays = 28
	// HistoryDays is how much spend before a month the forecast reads.
	HistoryDays = profileDays
)

// Series is one owner's daily spend, keyed by UTC midnight; days without an
// entry spent nothing.
type Series map[time.Time]decimal.Decimal

// Day is one day of a month's forecast.
type Day struct {
	Day time.Time
	// Actual is set for days before today (and today's partial bill in a past view).
	Actual *decimal.Decimal
	// Forecast is set for today and the days after it.
	Forecast   *decimal.Decimal
	Cumulative decimal.Decimal
}

// Forecast is how a month is forecast to end.
type Forecast struct {
	Method     string
	EndOfMonth decimal.Decimal
	Low, High  decimal.Decimal
	// RunsOutOn is the first day the cumulative spend reaches the amount.
	RunsOutOn *time.Time
	// MeasuredErrorPercent is the method's mean absolute percentage error
	// on mid-month forecasts of past months (nil: none could be checked).
	MeasuredErrorPercent *float64
	Days                 []Day
	// Spend is the month's actual spend to date, today's partial bill included.
	Spend decimal.Decimal
}

func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func dayStart(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

var hundred = decimal.NewFromInt(100)

// dayModel is the forecast of each weekday as of a day. With the run rate
// and the profile over the same 28 days, rate × profile[w] = (all ÷ 28) ×
// (7 × sum_w ÷ all) = sum_w ÷ 4: the mean spend of weekday w over the four
// weeks, which is how it is computed (exactly, in decimals, without a
// division per day).
type dayModel struct {
	byWeekday [7]decimal.Decimal
}

var four = decimal.NewFromInt(profileDays / 7)

// modelAsOf fits the forecast on the complete days before today.
func modelAsOf(s Series, today time.Time) dayModel {
	var sums [7]decimal.Decimal
	for i := 1; i <= profileDays; i++ {
		d := today.AddDate(0, 0, -i)
		if v, ok := s[d]; ok {
			sums[d.Weekday()] = sums[d.Weekday()].Add(v)
		}
	}
	var m dayModel
	for w, sum := range sums {
		m.byWeekday[w] = sum.DivRound(four, 2)
	}
	return m
}

func (m dayModel) predict(d time.Time) decimal.Decimal { return m.byWeekday[d.Weekday()] }

// forecastMonth forecasts month (its 1st) as of today (a UTC midnight) from
// the owner's series, with amount the budget. Days before today are actual;
// from today on forecast. A month wholly past is all actual; one wholly to
// come all forecast from the model as of today.
func forecastMonth(s Series, month, today time.Time, amount decimal.Decimal) Forecast {
	f := Forecast{Method: Method}
	end := month.AddDate(0, 1, 0)
	m := modelAsOf(s, today)
	var cum decimal.Decimal
	for d := month; d.Before(end); d = d.AddDate(0, 0, 1) {
		day := Day{Day: d}
		actual := s[d]
		switch {
		case d.Before(today):
			day.Actual = &actual
			cum = cum.Add(actual)
			f.Spend = f.Spend.Add(actual)
		default:
			p := m.predict(d)
			if d.Equal(today) {
				p = decimal.Max(p, actual)
				f.Spend = f.Spend.Add(actual)
			}
			day.Forecast = &p
			cum = cum.Add(p)
		}
		day.Cumulative = cum
		if f.RunsOutOn == nil && amount.IsPositive() && cum.GreaterThanOrEqual(amount) {
			ro := d
			f.RunsOutOn = &ro
		}
		f.Days = append(f.Days, day)
	}
	f.EndOfMonth = cum
	return f
}

// band sets Low and High from the measured error: the error of a mid-month
// forecast, scaled by how much of the month is still forecast compared with
// mid-month (the spent part is known), and at least what has been spent.
// Without a measured error the band is defaultErrorPercent wide.
func (f *Forecast) band(month, today time.Time) {
	e := defaultErrorPercent
	if f.MeasuredErrorPercent != nil {
		e = *f.MeasuredErrorPercent
	}
	days := month.AddDate(0, 1, 0).Sub(month).Hours() / 24
	left := 0.0
	for _, d := range f.Days {
		if d.Forecast != nil {
			left++
		}
	}
	atMid := days - (midDay - 1)
	half := f.EndOfMonth.Mul(decimal.NewFromFloat(e / 100 * left / atMid)).Round(2)
	known := f.EndOfMonth.Sub(forecastPart(f.Days))
	f.Low = decimal.Max(f.EndOfMonth.Sub(half), known)
	f.High = f.EndOfMonth.Add(half)
}

func forecastPart(days []Day) decimal.Decimal {
	var sum decimal.Decimal
	for _, d := range days {
		if d.Forecast != nil {
			sum = sum.Add(*d.Forecast)
		}
	}
	return sum
}

// midDay is the day of the month a measured forecast is made on (the 15th,
// knowing the 1st to the 14th).
const midDay = 15

// defaultErrorPercent is the band's width before any month could be checked.
const defaultErrorPercent = 25.0

// maxCheckedMonths bounds the past months the error is measured over.
const maxCheckedMonths = 6

// minOwnerMonths is the checked months an owner needs for its own error;
// with fewer the platform's is used.
const minOwnerMonths = 2

// measureError returns the mean absolute percentage error of the forecast of
// each month's end made on its 15th, over up to maxCheckedMonths complete
// months before current, and how many months it checked. A month is checked
// when it spent something and the owner's history reaches four weeks before
// its 15th, with some spend in them (the model had a whole window to go on).
func measureError(s Series, current time.Time) (float64, int) {
	return measureWith(s, current, func(s Series, m, mid time.Time) decimal.Decimal {
		return forecastMonth(s, m, mid, decimal.Zero).EndOfMonth
	})
}

// linearEndOfMonth is the baseline the method is compared with: the month's
// spend up to mid stretched over the whole month.
func linearEndOfMonth(s Series, m, mid time.Time) decimal.Decimal {
	var sum decimal.Decimal
	for d := m; d.Before(mid); d = d.AddDate(0, 0, 1) {
		sum = sum.Add(s[d])
	}
	days := decimal.NewFromInt(int64(m.AddDate(0, 1, 0).Sub(m).Hours() / 24))
	return sum.Mul(days).Div(decimal.NewFromInt(int64(mid.Sub(m).Hours() / 24)))
}

// measureWith measures a forecast of the month's end made on its 15th.
func measureWith(s Series, current time.Time, endOfMonth func(s Series, m, mid time.Time) decimal.Decimal) (float64, int) {
	var sum float64
	n := 0
	var first time.Time
	for d := range s {
		if first.IsZero() || d.Before(first) {
			first = d
		}
	}
	for i := 1; i <= maxCheckedMonths; i++ {
		m := current.AddDate(0, -i, 0)
		mid := m.AddDate(0, 0, midDay-1)
		var actual, before decimal.Decimal
		for d := m; d.Before(m.AddDate(0, 1, 0)); d = d.AddDate(0, 0, 1) {
			actual = actual.Add(s[d])
		}
		for j := 1; j <= profileDays; j++ {
			before = before.Add(s[mid.AddDate(0, 0, -j)])
		}
		if !actual.IsPositive() || !before.IsPositive() || first.After(mid.AddDate(0, 0, -profileDays)) {
			continue
		}
		ape, _ := endOfMonth(s, m, mid).Sub(actual).Abs().Div(actual).Float64()
		sum += ape * 100
		n++
	}
	if n == 0 {
		return 0, 0
	}
	return sum / float64(n), n
}

// ErrorHistoryMonths is how many months before the current one the measured
// error reads.
const ErrorHistoryMonths = maxCheckedMonths + 2
