package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"google.golang.org/protobuf/types/known/structpb"
)

func tlsResources() map[string]*resourceImpl {
	return map[string]*resourceImpl{
		"tls:index/privateKey:PrivateKey": {
			inputs:  []string{"algorithm", "ecdsaCurve", "rsaBits"},
			secrets: []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"},
			defaults: func(in props) {
				in.setDefault("algorithm", structpb.NewStringValue("RSA"))
				in.setDefault("ecdsaCurve", structpb.NewStringValue("P224"))
				in.setDefault("rsaBits", structpb.NewNumberValue(2048))
			},
			outputs: []string{"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh", "publicKeyPem",
				"publicKeyOpenssh", "publicKeyFingerprintMd5", "publicKeyFingerprintSha256"},
			create: createPrivateKey,
		},
		"tls:index/selfSignedCert:SelfSignedCert": {
			inputs: []string{"privateKeyPem", "subject", "validityPeriodHours", "allowedUses", "dnsNames",
				"ipAddresses", "uris", "isCaCertificate", "setSubjectKeyId", "setAuthorityKeyId", "earlyRenewalHours"},
			defaults: certDefaults,
			outputs:  []string{"certPem", "keyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal"},
			create:   createSelfSignedCert,
		},
		"tls:index/certRequest:CertRequest": {
			inputs:  []string{"privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"},
			outputs: []string{"certRequestPem", "keyAlgorithm"},
			create:  createCertRequest,
		},
		"tls:index/locallySignedCert:LocallySignedCert": {
			inputs: []string{"certRequestPem", "caPrivateKeyPem", "caCertPem", "validityPeriodHours", "allowedUses",
				"isCaCertificate", "setSubjectKeyId", "earlyRenewalHours"},
			defaults: certDefaults,
			outputs:  []string{"certPem", "caKeyAlgorithm", "validityStartTime", "validityEndTime", "readyForRenewal"},
			create:   createLocallySignedCert,
		},
	}
}

func certDefaults(in props) {
	in.setDefault("isCaCertificate", structpb.NewBoolValue(false))
	in.setDefault("setSubjectKeyId", structpb.NewBoolValue(false))
	in.setDefault("earlyRenewalHours", structpb.NewNumberValue(0))
}

func pemString(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func createPrivateKey(in props) (string, props, error) {
	var key crypto.Signer
	var keyPem string
	var err error
	switch in.str("algorithm") {
	case "RSA":
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, in.num("rsaBits")); err == nil {
			key, keyPem = k, pemString("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k))
		}
	case "ECDSA":
		var curve elliptic.Curve
		switch in.str("ecdsaCurve") {
		case "P224":
			curve = elliptic.P224()
		case "P256":
			curve = elliptic.P256()
		case "P384":
			curve = elliptic.P384()
		case "P521":
			curve = elliptic.P521()
		default:
			return "", nil, fmt.Errorf("unsupported ecdsaCurve %q", in.str("ecdsaCurve"))
		}
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(curve, rand.Reader); err == nil {
			var der []byte
			if der, err = x509.MarshalECPrivateKey(k); err == nil {
				key, keyPem = k, pemString("EC PRIVATE KEY", der)
			}
		}
	case "ED25519":
		var k ed25519.PrivateKey
		if _, k, err = ed25519.GenerateKey(rand.Reader); err == nil {
			var der []byte
			if der, err = x509.MarshalPKCS8PrivateKey(k); err == nil {
				key, keyPem = k, pemString("PRIVATE KEY", der)
			}
		}
	default:
		return "", nil, fmt.Errorf("unsupported algorithm %q (RSA, ECDSA, ED25519)", in.str("algorithm"))
	}
	if err != nil {
		return "", nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, err
	}
	pubDer, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return "", nil, err
	}
	pubPem := pemString("PUBLIC KEY", pubDer)
	out := props{
		"privateKeyPem":              structpb.NewStringValue(keyPem),
		"privateKeyPemPkcs8":         structpb.NewStringValue(pemString("PRIVATE KEY", pkcs8)),
		"publicKeyPem":               structpb.NewStringValue(pubPem),
		"privateKeyOpenssh":          structpb.NewStringValue(""),
		"publicKeyOpenssh":           structpb.NewStringValue(""),
		"publicKeyFingerprintMd5":    structpb.NewStringValue(""),
		"publicKeyFingerprintSha256": structpb.NewStringValue(""),
	}
	// OpenSSH has no P-224 keys; upstream leaves those outputs empty too.
	if sshPub, err := ssh.NewPublicKey(key.Public()); err == nil {
		out["publicKeyOpenssh"] = structpb.NewStringValue(string(ssh.MarshalAuthorizedKey(sshPub)))
		sum := md5.Sum(sshPub.Marshal())
		parts := make([]string, len(sum))
		for i, b := range sum {
			parts[i] = hex.EncodeToString([]byte{b})
		}
		out["publicKeyFingerprintMd5"] = structpb.NewStringValue(strings.Join(parts, ":"))
		sha := sha256.Sum256(sshPub.Marshal())
		out["publicKeyFingerprintSha256"] = structpb.NewStringValue("SHA256:" + base64.RawStdEncoding.EncodeToString(sha[:]))
		if block, err := ssh.MarshalPrivateKey(key, ""); err == nil {
			out["privateKeyOpenssh"] = structpb.NewStringValue(string(pem.EncodeToMemory(block)))
		}
	}
	id := sha1.Sum([]byte(pubPem))
	return hex.EncodeToString(id[:]), out, nil
}

func parsePrivateKey(s string) (crypto.Signer, string, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, "", errors.New("private key: no PEM block found")
	}
	var key any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	if err != nil {
		return nil, "", fmt.Errorf("private key: %w", err)
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, "RSA", nil
	case *ecdsa.PrivateKey:
		return k, "ECDSA", nil
	case ed25519.PrivateKey:
		return k, "ED25519", nil
	}
	return nil, "", fmt.Errorf("private key: unsupported type %T", key)
}

func subjectOf(in props) pkix.Name {
	var n pkix.Name
	s := in["subject"].GetStructValue()
	if s == nil {
		// the SDK may send the block as a one-element list
		if l := in["subject"].GetListValue(); l != nil && len(l.Values) > 0 {
			s = l.Values[0].GetStructValue()
		}
	}
	if s == nil {
		return n
	}
	f := props(s.Fields)
	one := func(k string) []string {
		if v := f.str(k); v != "" {
			return []string{v}
		}
		return nil
	}
	n.CommonName = f.str("commonName")
	n.SerialNumber = f.str("serialNumber")
	n.Organization = one("organization")
	n.OrganizationalUnit = one("organizationalUnit")
	n.StreetAddress = f.strs("streetAddresses")
	n.Locality = one("locality")
	n.Province = one("province")
	n.Country = one("country")
	n.PostalCode = one("postalCode")
	return n
}

func sans(in props) ([]string, []net.IP, []*url.URL, error) {
	var ips []net.IP
	for _, s := range in.strs("ipAddresses") {
		ip := net.ParseIP(s)
		if ip == nil {
			return nil, nil, nil, fmt.Errorf("invalid IP address %q", s)
		}
		ips = append(ips, ip)
	}
	var uris []*url.URL
	for _, s := range in.strs("uris") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, nil, nil, err
		}
		uris = append(uris, u)
	}
	return in.strs("dnsNames"), ips, uris, nil
}

var keyUsages = map[string]x509.KeyUsage{
	"digital_signature":  x509.KeyUsageDigitalSignature,
	"content_commitment": x509.KeyUsageContentCommitment,
	"key_encipherment":   x509.KeyUsageKeyEncipherment,
	"data_encipherment":  x509.KeyUsageDataEncipherment,
	"key_agreement":      x509.KeyUsageKeyAgreement,
	"cert_signing":       x509.KeyUsageCertSign,
	"crl_signing":        x509.KeyUsageCRLSign,
	"encipher_only":      x509.KeyUsageEncipherOnly,
	"decipher_only":      x509.KeyUsageDecipherOnly,
}

var extKeyUsages = map[string]x509.ExtKeyUsage{
	"any_extended":                  x509.ExtKeyUsageAny,
	"server_auth":                   x509.ExtKeyUsageServerAuth,
	"client_auth":                   x509.ExtKeyUsageClientAuth,
	"code_signing":                  x509.ExtKeyUsageCodeSigning,
	"email_protection":              x509.ExtKeyUsageEmailProtection,
	"ipsec_end_system":              x509.ExtKeyUsageIPSECEndSystem,
	"ipsec_tunnel":                  x509.ExtKeyUsageIPSECTunnel,
	"ipsec_user":                    x509.ExtKeyUsageIPSECUser,
	"timestamping":                  x509.ExtKeyUsageTimeStamping,
	"ocsp_signing":                  x509.ExtKeyUsageOCSPSigning,
	"microsoft_server_gated_crypto": x509.ExtKeyUsageMicrosoftServerGatedCrypto,
	"netscape_server_gated_crypto":  x509.ExtKeyUsageNetscapeServerGatedCrypto,
}

func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	// SHA-1 of the whole SubjectPublicKeyInfo: a fine key identifier for a local CA.
	sum := sha1.Sum(der)
	return sum[:], nil
}

// certTemplate builds the parts shared by self-signed and locally signed certificates.
func certTemplate(in props, subject pkix.Name, pub crypto.PublicKey) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, err
	}
	hours := in.num("validityPeriodHours")
	if hours <= 0 {
		return nil, errors.New("validityPeriodHours must be positive")
	}
	now := time.Now().UTC().Truncate(time.Second)
	t := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		NotBefore:             now,
		NotAfter:              now.Add(time.Duration(hours) * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  in.boolean("isCaCertificate"),
	}
	for _, u := range in.strs("allowedUses") {
		if ku, ok := keyUsages[u]; ok {
			t.KeyUsage |= ku
		} else if eku, ok := extKeyUsages[u]; ok {
			t.ExtKeyUsage = append(t.ExtKeyUsage, eku)
		} else {
			return nil, fmt.Errorf("unknown allowed use %q", u)
		}
	}
	if in.boolean("setSubjectKeyId") || t.IsCA {
		if t.SubjectKeyId, err = subjectKeyID(pub); err != nil {
			return nil, err
		}
	}
	return t, nil
}

func certOutputs(der []byte, t *x509.Certificate, algKey, alg string) props {
	return props{
		"certPem":           structpb.NewStringValue(pemString("CERTIFICATE", der)),
		algKey:              structpb.NewStringValue(alg),
		"validityStartTime": structpb.NewStringValue(t.NotBefore.Format(time.RFC3339)),
		"validityEndTime":   structpb.NewStringValue(t.NotAfter.Format(time.RFC3339)),
		"readyForRenewal":   structpb.NewBoolValue(false),
	}
}

func createSelfSignedCert(in props) (string, props, error) {
	key, alg, err := parsePrivateKey(in.str("privateKeyPem"))
	if err != nil {
		return "", nil, err
	}
	t, err := certTemplate(in, subjectOf(in), key.Public())
	if err != nil {
		return "", nil, err
	}
	if t.DNSNames, t.IPAddresses, t.URIs, err = sans(in); err != nil {
		return "", nil, err
	}
	if in.boolean("setAuthorityKeyId") {
		t.AuthorityKeyId = t.SubjectKeyId
	}
	der, err := x509.CreateCertificate(rand.Reader, t, t, key.Public(), key)
	if err != nil {
		return "", nil, err
	}
	return t.SerialNumber.String(), certOutputs(der, t, "keyAlgorithm", alg), nil
}

func createCertRequest(in props) (string, props, error) {
	key, alg, err := parsePrivateKey(in.str("privateKeyPem"))
	if err != nil {
		return "", nil, err
	}
	req := &x509.CertificateRequest{Subject: subjectOf(in)}
	if req.DNSNames, req.IPAddresses, req.URIs, err = sans(in); err != nil {
		return "", nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, req, key)
	if err != nil {
		return "", nil, err
	}
	csr := pemString("CERTIFICATE REQUEST", der)
	id := sha1.Sum([]byte(csr))
	return hex.EncodeToString(id[:]), props{
		"certRequestPem": structpb.NewStringValue(csr),
		"keyAlgorithm":   structpb.NewStringValue(alg),
	}, nil
}

func createLocallySignedCert(in props) (string, props, error) {
	block, _ := pem.Decode([]byte(in.str("certRequestPem")))
	if block == nil {
		return "", nil, errors.New("certRequestPem: no PEM block found")
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		return "", nil, fmt.Errorf("certRequestPem: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return "", nil, fmt.Errorf("certRequestPem: %w", err)
	}
	caKey, caAlg, err := parsePrivateKey(in.str("caPrivateKeyPem"))
	if err != nil {
		return "", nil, fmt.Errorf("ca: %w", err)
	}
	caBlock, _ := pem.Decode([]byte(in.str("caCertPem")))
	if caBlock == nil {
		return "", nil, errors.New("caCertPem: no PEM block found")
	}
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	if err != nil {
		return "", nil, fmt.Errorf("caCertPem: %w", err)
	}
	t, err := certTemplate(in, csr.Subject, csr.PublicKey)
	if err != nil {
		return "", nil, err
	}
	t.DNSNames, t.IPAddresses, t.URIs = csr.DNSNames, csr.IPAddresses, csr.URIs
	t.AuthorityKeyId = ca.SubjectKeyId
	der, err := x509.CreateCertificate(rand.Reader, t, ca, csr.PublicKey, caKey)
	if err != nil {
		return "", nil, err
	}
	return t.SerialNumber.String(), certOutputs(der, t, "caKeyAlgorithm", caAlg), nil
}
