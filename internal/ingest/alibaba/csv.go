package alibaba

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
)

// lineReader streams a file line by line with bounded memory. The trace files
// are plain comma-separated values with no quoting, so a split on commas is exact
// and much cheaper than encoding/csv; an over-long line is reported as bad rather
// than aborting the import.
type lineReader struct {
	r    *bufio.Reader
	line int // number of the line last returned, 1-based
}

// maxLine bounds a line; real rows are under 100 bytes.
const maxLine = 64 << 10

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReaderSize(r, maxLine)}
}

// next returns the next line without its line ending. tooLong reports a line that
// exceeded maxLine (its content is dropped). At the end it returns io.EOF.
func (l *lineReader) next() (line string, tooLong bool, err error) {
	b, err := l.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = l.r.ReadSlice('\n')
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return "", false, err
		}
		l.line++
		return "", true, nil
	}
	if err != nil && !(errors.Is(err, io.EOF) && len(b) > 0) {
		return "", false, err
	}
	l.line++
	b = bytes.TrimSuffix(b, []byte{'\n'})
	b = bytes.TrimSuffix(b, []byte{'\r'})
	return string(b), false, nil
}

// split cuts a line into exactly len(into) comma-separated fields, trimming
// spaces, and returns how many fields the line really has.
func split(line string, into []string) int {
	n := 0
	for {
		i := strings.IndexByte(line, ',')
		field := line
		if i >= 0 {
			field = line[:i]
		}
		if n < len(into) {
			into[n] = strings.TrimSpace(field)
		}
		n++
		if i < 0 {
			return n
		}
		line = line[i+1:]
	}
}
