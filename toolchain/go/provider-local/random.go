package main

import (
	"crypto/rand"
	"errors"
	"math/big"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/types/known/structpb"
)

const defaultSpecial = "!@#$%&*()-_=+[]{}<>:?"

var randomStringInputs = []string{
	"length", "keepers", "lower", "minLower", "minNumeric", "minSpecial", "minUpper",
	"number", "numeric", "overrideSpecial", "special", "upper",
}

func randomDefaults(in props) {
	for _, k := range []string{"lower", "upper", "numeric", "number", "special"} {
		in.setDefault(k, structpb.NewBoolValue(true))
	}
	for _, k := range []string{"minLower", "minUpper", "minNumeric", "minSpecial"} {
		in.setDefault(k, structpb.NewNumberValue(0))
	}
}

func randomIndex(n int) (int, error) {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		return 0, err
	}
	return int(v.Int64()), nil
}

// generate follows the upstream rules: each enabled class contributes at least its minimum,
// the rest is drawn from all enabled classes, then the result is shuffled.
func generate(in props) (string, error) {
	length := in.num("length")
	if length < 1 {
		return "", errors.New("length must be at least 1")
	}
	special := defaultSpecial
	if in.has("overrideSpecial") {
		special = in.str("overrideSpecial")
	}
	numeric := in.boolean("numeric") && (!in.has("number") || in.boolean("number"))
	classes := []struct {
		on    bool
		chars string
		min   int
	}{
		{in.boolean("upper"), "ABCDEFGHIJKLMNOPQRSTUVWXYZ", in.num("minUpper")},
		{in.boolean("lower"), "abcdefghijklmnopqrstuvwxyz", in.num("minLower")},
		{numeric, "0123456789", in.num("minNumeric")},
		{in.boolean("special"), special, in.num("minSpecial")},
	}
	var all string
	var out []byte
	for _, c := range classes {
		if !c.on || c.chars == "" {
			continue
		}
		all += c.chars
		for i := 0; i < c.min; i++ {
			j, err := randomIndex(len(c.chars))
			if err != nil {
				return "", err
			}
			out = append(out, c.chars[j])
		}
	}
	if all == "" {
		return "", errors.New("at least one of upper, lower, numeric and special must be true")
	}
	for len(out) < length {
		j, err := randomIndex(len(all))
		if err != nil {
			return "", err
		}
		out = append(out, all[j])
	}
	for i := len(out) - 1; i > 0; i-- {
		j, err := randomIndex(i + 1)
		if err != nil {
			return "", err
		}
		out[i], out[j] = out[j], out[i]
	}
	return string(out), nil
}

func randomResources() map[string]*resourceImpl {
	return map[string]*resourceImpl{
		"random:index/randomPassword:RandomPassword": {
			inputs:   randomStringInputs,
			secrets:  []string{"result", "bcryptHash"},
			defaults: randomDefaults,
			outputs:  []string{"result", "bcryptHash"},
			create: func(in props) (string, props, error) {
				s, err := generate(in)
				if err != nil {
					return "", nil, err
				}
				h, err := bcrypt.GenerateFromPassword([]byte(s), bcrypt.DefaultCost)
				if err != nil {
					return "", nil, err
				}
				return "none", props{
					"result":     structpb.NewStringValue(s),
					"bcryptHash": structpb.NewStringValue(string(h)),
				}, nil
			},
		},
		"random:index/randomString:RandomString": {
			inputs:   randomStringInputs,
			defaults: randomDefaults,
			outputs:  []string{"result"},
			create: func(in props) (string, props, error) {
				s, err := generate(in)
				if err != nil {
					return "", nil, err
				}
				return s, props{"result": structpb.NewStringValue(s)}, nil
			},
		},
	}
}
