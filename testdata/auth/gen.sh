#!/usr/bin/env bash
# Regenerates the known-answer fixtures in this directory with openssl and
# coreutils only: nothing here runs the Go code under test. See README.md.
#
#   cd testdata/auth && bash gen.sh
#
# Keys and assertions are new random TEST material on every run; the TBA
# signatures are deterministic (fixed inputs). Needs: openssl 3, basenc,
# xxd, sed.
set -euo pipefail
cd "$(dirname "$0")"

b64url() { basenc --base64url -w0 | tr -d '='; }

# ---------------------------------------------------------------- keys
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out rsa3072-pkcs8.pem
openssl pkey -in rsa3072-pkcs8.pem -traditional -out rsa3072-pkcs1.pem      # "RSA PRIVATE KEY"
openssl pkey -in rsa3072-pkcs8.pem -pubout -out rsa3072-pub.pem             # "PUBLIC KEY"
openssl req -new -x509 -key rsa3072-pkcs8.pem -days 730 -subj "/CN=extract M2M test" -out rsa3072-cert.pem
openssl pkcs8 -topk8 -in rsa3072-pkcs8.pem -v2 aes-256-cbc -passout pass:test -out rsa3072-pkcs8-encrypted.pem
openssl rsa -in rsa3072-pkcs8.pem -traditional -aes256 -passout pass:test -out rsa3072-pkcs1-encrypted.pem # Proc-Type: 4,ENCRYPTED

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024-pkcs8.pem

openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec256-pkcs8.pem
openssl pkey -in ec256-pkcs8.pem -traditional -out ec256-sec1.pem           # "EC PRIVATE KEY"
openssl pkey -in ec256-pkcs8.pem -pubout -out ec256-pub.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out ec384-pkcs8.pem
openssl pkey -in ec384-pkcs8.pem -pubout -out ec384-pub.pem

# ---------------------------------------------------------------- M2M assertions
# Signing input = base64url(header) "." base64url(claims), built by hand.
KID=test-cert-id
ISS=test-client-id
AUD=https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/auth/oauth2/v1/token
# The next midnight UTC: inside the certificate's validity, which starts now
# (1795478400 = 2026-11-24T00:00:00Z for the committed files).
IAT=$(( $(date -u +%s) / 86400 * 86400 + 86400 ))
EXP=$((IAT + 3300))     # 55 minutes later (NetSuite: less than 60)

assertion_input() { # alg jti
	local h c
	h=$(printf '{"alg":"%s","kid":"%s","typ":"JWT"}' "$1" "$KID" | b64url)
	c=$(printf '{"iss":"%s","scope":["rest_webservices"],"aud":"%s","iat":%d,"exp":%d,"jti":"%s"}' \
		"$ISS" "$AUD" "$IAT" "$EXP" "$2" | b64url)
	printf '%s.%s' "$h" "$c"
}

# PS256: RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32 (= hash length, RFC 7518 §3.5).
IN=$(assertion_input PS256 fixture-ps256-0001)
SIG=$(printf '%s' "$IN" | openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-sign rsa3072-pkcs8.pem -binary | b64url)
printf '%s.%s\n' "$IN" "$SIG" > ps256.jwt

# RS256 (RSASSA-PKCS1-v1_5), which NetSuite no longer accepts: the fake must refuse it.
IN=$(assertion_input RS256 fixture-rs256-0001)
SIG=$(printf '%s' "$IN" | openssl dgst -sha256 -sign rsa3072-pkcs8.pem -binary | b64url)
printf '%s.%s\n' "$IN" "$SIG" > rs256.jwt

# ES256: openssl writes an ASN.1 DER SEQUENCE{INTEGER r, INTEGER s}; JOSE wants the
# 64 bytes r||s, each left-padded to 32 bytes (RFC 7518 §3.4). asn1parse prints both
# integers in hex; pad them to 64 hex digits and turn the hex back into bytes.
IN=$(assertion_input ES256 fixture-es256-0001)
printf '%s' "$IN" | openssl dgst -sha256 -sign ec256-pkcs8.pem -binary > es256.der
RS=$(openssl asn1parse -inform DER -in es256.der | sed -n 's/.*INTEGER *:\([0-9A-Fa-f]*\)$/\1/p' |
	while read -r h; do printf '%064s' "$h" | tr ' ' 0; done)
[ ${#RS} -eq 128 ] || { echo "bad r||s: $RS" >&2; exit 1; }
SIG=$(printf '%s' "$RS" | xxd -r -p | b64url)
rm es256.der
printf '%s.%s\n' "$IN" "$SIG" > es256.jwt

# ---------------------------------------------------------------- TBA (OAuth 1.0a HMAC-SHA256)
# The base strings below are written by hand from RFC 5849 §3.4.1 (see README.md for
# the derivation); openssl only computes the HMAC.
CK=ck_4f1c2e8a9b7d6c5e4f3a2b1c0d9e8f7a
CS='cs+secret/with&special=chars~ok'
TK=tk_0a1b2c3d4e5f60718293a4b5c6d7e8f9
TS='ts secret:ü'
KEY='cs%2Bsecret%2Fwith%26special%3Dchars~ok&ts%20secret%3A%C3%BC'

BASE1='POST&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%2Fservices%2Frest%2Fquery%2Fv1%2Fsuiteql&limit%3D1000%26oauth_consumer_key%3Dck_4f1c2e8a9b7d6c5e4f3a2b1c0d9e8f7a%26oauth_nonce%3DZx9mQ2vL7pR4tY8wK3nB%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1737397800%26oauth_token%3Dtk_0a1b2c3d4e5f60718293a4b5c6d7e8f9%26oauth_version%3D1.0%26offset%3D0'
BASE2='GET&https%3A%2F%2F1234567-sb1.suitetalk.api.netsuite.com%3A8443%2Fservices%2Frest%2Frecord%2Fv1%2Fcustomer&empty%3D%26expand%2520me%3Dx%2520y%26fields%3Dcompanyname%26fields%3Did%252Cemail%26oauth_consumer_key%3Dck_4f1c2e8a9b7d6c5e4f3a2b1c0d9e8f7a%26oauth_nonce%3DAb3dEf6hIj9lMn2pQr5t%26oauth_signature_method%3DHMAC-SHA256%26oauth_timestamp%3D1737397860%26oauth_token%3Dtk_0a1b2c3d4e5f60718293a4b5c6d7e8f9%26oauth_version%3D1.0%26q%3Dname%2520IS%2520%2522A%2526B%2522'

hmac() { printf '%s' "$1" | openssl dgst -sha256 -hmac "$KEY" -binary | base64 -w0; }
# Percent-encode a base64 value for the header: only + / = occur outside the unreserved set.
pct() { printf '%s' "$1" | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g'; }
header() { # nonce timestamp signature
	printf 'OAuth realm="1234567_SB1", oauth_consumer_key="%s", oauth_token="%s", oauth_signature_method="HMAC-SHA256", oauth_timestamp="%s", oauth_nonce="%s", oauth_version="1.0", oauth_signature="%s"' \
		"$CK" "$TK" "$2" "$1" "$(pct "$3")"
}
SIG1=$(hmac "$BASE1")
SIG2=$(hmac "$BASE2")

cat > tba.json <<EOF
[
  {
    "name": "suiteql POST with limit and offset",
    "method": "POST",
    "url": "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql?limit=1000&offset=0",
    "realm": "1234567_SB1",
    "consumer_key": "$CK", "consumer_secret": "$CS",
    "token_id": "$TK", "token_secret": "$TS",
    "nonce": "Zx9mQ2vL7pR4tY8wK3nB", "timestamp": "1737397800",
    "signing_key": "$KEY",
    "base_string": "$BASE1",
    "signature": "$SIG1",
    "authorization": "$(header Zx9mQ2vL7pR4tY8wK3nB 1737397800 "$SIG1" | sed 's/"/\\"/g')"
  },
  {
    "name": "GET with port, upper-case host, repeated and encoded query parameters",
    "method": "GET",
    "url": "https://1234567-SB1.SuiteTalk.api.netsuite.com:8443/services/rest/record/v1/customer?q=name%20IS%20%22A%26B%22&fields=id,email&fields=companyname&expand+me=x+y&empty=",
    "realm": "1234567_SB1",
    "consumer_key": "$CK", "consumer_secret": "$CS",
    "token_id": "$TK", "token_secret": "$TS",
    "nonce": "Ab3dEf6hIj9lMn2pQr5t", "timestamp": "1737397860",
    "signing_key": "$KEY",
    "base_string": "$BASE2",
    "signature": "$SIG2",
    "authorization": "$(header Ab3dEf6hIj9lMn2pQr5t 1737397860 "$SIG2" | sed 's/"/\\"/g')"
  }
]
EOF
echo ok
