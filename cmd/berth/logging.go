package main

import (
	"bytes"
	"io"

	"github.com/sirupsen/logrus"
)

// compose-go reports warnings (an unset variable, an obsolete `version:`)
// through logrus; show them as one plain line each on stderr.
type warnFormatter struct{}

func (warnFormatter) Format(e *logrus.Entry) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("berth: warning: ")
	b.WriteString(e.Message)
	b.WriteByte('\n')
	return b.Bytes(), nil
}

func setupLogging(stderr io.Writer) {
	logrus.SetOutput(stderr)
	logrus.SetFormatter(warnFormatter{})
	logrus.SetLevel(logrus.WarnLevel)
}
