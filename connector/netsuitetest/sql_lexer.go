package netsuitetest

import (
	"fmt"
	"strings"
)

type tokKind uint8

const (
	tokEOF tokKind = iota
	tokIdent
	tokNumber
	tokString
	tokQuotedIdent
	tokBind // ?
	tokOp   // = <> != < <= > >=
	tokLParen
	tokRParen
	tokComma
	tokDot
	tokStar
	tokMinus
	tokPlus
	tokOther // anything else the fake does not support (|| / ; ...)
)

type token struct {
	kind tokKind
	text string // identifiers: lowercased; strings: unescaped value
	raw  string // the source text, for messages
	pos  int
}

// is reports whether t is the (case-insensitive) keyword kw.
func (t token) is(kw string) bool { return t.kind == tokIdent && t.text == kw }

// lex splits a SuiteQL statement into tokens. Comments are skipped; string
// literals escape a quote by doubling it; identifiers are folded to lower case
// because SuiteQL names are case-insensitive.
func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case c == '-' && i+1 < len(src) && src[i+1] == '-':
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(src) && src[i+1] == '*':
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at position %d", i)
			}
			i += end + 4
		case isIdentStart(c):
			start := i
			for i < len(src) && isIdentPart(src[i]) {
				i++
			}
			toks = append(toks, token{kind: tokIdent, text: strings.ToLower(src[start:i]), raw: src[start:i], pos: start})
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			start := i
			for i < len(src) && isDigit(src[i]) {
				i++
			}
			if i < len(src) && src[i] == '.' {
				i++
				for i < len(src) && isDigit(src[i]) {
					i++
				}
			}
			if i < len(src) && (src[i] == 'e' || src[i] == 'E') {
				j := i + 1
				if j < len(src) && (src[j] == '+' || src[j] == '-') {
					j++
				}
				if j < len(src) && isDigit(src[j]) {
					for j < len(src) && isDigit(src[j]) {
						j++
					}
					i = j
				}
			}
			toks = append(toks, token{kind: tokNumber, text: src[start:i], raw: src[start:i], pos: start})
		case c == '\'':
			start := i
			var b strings.Builder
			i++
			for {
				if i >= len(src) {
					return nil, fmt.Errorf("quoted string not properly terminated at position %d", start)
				}
				if src[i] == '\'' {
					if i+1 < len(src) && src[i+1] == '\'' {
						b.WriteByte('\'')
						i += 2
						continue
					}
					i++
					break
				}
				b.WriteByte(src[i])
				i++
			}
			toks = append(toks, token{kind: tokString, text: b.String(), raw: src[start:i], pos: start})
		case c == '"':
			start := i
			end := strings.IndexByte(src[i+1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("quoted identifier not properly terminated at position %d", start)
			}
			i += end + 2
			toks = append(toks, token{kind: tokQuotedIdent, text: src[start+1 : i-1], raw: src[start:i], pos: start})
		default:
			start := i
			kind, n := tokOther, 1
			switch c {
			case '?':
				kind = tokBind
			case '(':
				kind = tokLParen
			case ')':
				kind = tokRParen
			case ',':
				kind = tokComma
			case '.':
				kind = tokDot
			case '*':
				kind = tokStar
			case '-':
				kind = tokMinus
			case '+':
				kind = tokPlus
			case '=':
				kind = tokOp
			case '<':
				kind = tokOp
				if i+1 < len(src) && (src[i+1] == '=' || src[i+1] == '>') {
					n = 2
				}
			case '>':
				kind = tokOp
				if i+1 < len(src) && src[i+1] == '=' {
					n = 2
				}
			case '!':
				if i+1 < len(src) && src[i+1] == '=' {
					kind, n = tokOp, 2
				}
			case '|':
				if i+1 < len(src) && src[i+1] == '|' {
					n = 2
				}
			}
			i += n
			toks = append(toks, token{kind: kind, text: src[start:i], raw: src[start:i], pos: start})
		}
	}
	toks = append(toks, token{kind: tokEOF, raw: "end of statement", pos: len(src)})
	return toks, nil
}

func isIdentStart(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' }
func isIdentPart(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '$' || c == '#' }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }
