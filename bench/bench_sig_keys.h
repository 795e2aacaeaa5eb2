/*
 * Throw-away keys and self-signed certificates for the signature
 * benchmarks in bench_crypto.c (generated once with `openssl req -x509
 * -newkey ... -nodes`; they protect nothing).  PEM, as
 * m6ike_crypto_privkey_load and m6ike_crypto_cert_load take it.
 */
#ifndef M6IKE_BENCH_SIG_KEYS_H
#define M6IKE_BENCH_SIG_KEYS_H

static const char BENCH_RSA1024_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIICdgIBADANBgkqhkiG9w0BAQEFAASCAmAwggJcAgEAAoGBAMfe64vWXWIrDMIG\n"
    "9EMfUr+cAViU2SKSrxT+BZ6XIZjq9h3/Efz2alf70d4qXRRwlbrds7h+cZuEDCo+\n"
    "rtdnNL/gEcDTJ59o4QMQ9kV/ningkKDnRZUWqDH89rF/hSF7L3wy8PmzhhPeRamf\n"
    "FXJQHY96ftJrqVEBRRTvuzpi7o+FAgMBAAECgYBoPXcTo2VowZMRzpauOzPpAvAg\n"
    "xuDIC0CM7j74C1JWcpSR6Gn1SH8GDCvUdru84Ur1/pKw8iFGPoQptC9z4Du9uooO\n"
    "/o0TizlJAbIPsd+lWBFnWlmaTsEQgIpRPXcrg5guspqMrF83QdRuHdxSpbPUbCat\n"
    "8eUQzwaTqdScVxf6MQJBAOl4bHrh1Vs4dvUVxZwJHo++vCOdIk/vrtFkzK9BUPCz\n"
    "KTRfa6y+LVkO3YujXkZncR3zq1JNJe9GiF08lHxI978CQQDbKHZYAKDMKWY/kK2j\n"
    "DiypiboDu7UDVSTRMTuL7N27cOSDuieax4OHIj7kTUE7IBFcAtLKPuDFbHLdRTrz\n"
    "DCm7AkB4f7f1oFN/NmBnVGpeg3JrnHT8KKDKAxoGZvEhzyNYaA/vQQSQ7sL3AS4l\n"
    "YRdKXR9L5zTYUIswuQWuoZK9pud/AkEAtqUAC9NqLvwJpMwUiaGUgy6vAdF7x+07\n"
    "o8PeFn0vRbmOGGIaA5pm+UYHGAlyZa4SCZaoybihZqc9Cz9ZI5ltZQJAYaZ0HwEA\n"
    "pXjXXQ8iDb/RslCjH0j5orsL4KuyUAiSflMqCyovh489DWRYigNnaTI3QtX4MJIU\n"
    "KjztBVKXHZn3fg==\n"
    "-----END PRIVATE KEY-----\n";

static const char BENCH_RSA1024_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIICDjCCAXegAwIBAgIUaKe6pTQhoddmjg8QiZzRfNPxubEwDQYJKoZIhvcNAQEL\n"
    "BQAwGDEWMBQGA1UEAwwNYmVuY2gtcnNhMTAyNDAgFw0yNjExMjMyMTI2NDhaGA8y\n"
    "MTI2MTAzMDIxMjY0OFowGDEWMBQGA1UEAwwNYmVuY2gtcnNhMTAyNDCBnzANBgkq\n"
    "hkiG9w0BAQEFAAOBjQAwgYkCgYEAx97ri9ZdYisMwgb0Qx9Sv5wBWJTZIpKvFP4F\n"
    "npchmOr2Hf8R/PZqV/vR3ipdFHCVut2zuH5xm4QMKj6u12c0v+ARwNMnn2jhAxD2\n"
    "RX+eKeCQoOdFlRaoMfz2sX+FIXsvfDLw+bOGE95FqZ8VclAdj3p+0mupUQFFFO+7\n"
    "OmLuj4UCAwEAAaNTMFEwHQYDVR0OBBYEFKpAoy3OwPkfrge8Bw38rIPPuvszMB8G\n"
    "A1UdIwQYMBaAFKpAoy3OwPkfrge8Bw38rIPPuvszMA8GA1UdEwEB/wQFMAMBAf8w\n"
    "DQYJKoZIhvcNAQELBQADgYEAOWQ97r6if0f6aqRROgLbUcJwI7MQCfZb93xZL+dj\n"
    "2353t165UzvfrqC3Vi4Ix8sb8e3dnFBD/S0rc4TNtHJ+FamcXARnk9S6f+HIYov2\n"
    "K0gNWFGR3rN6M/5sHhDIf2UVpYoPLeiXpcreyekeZWW8xVBRRIb2IzkR06gBBgv8\n"
    "H/8=\n"
    "-----END CERTIFICATE-----\n";

static const char BENCH_RSA2048_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDM4kC9JLJ+V7Fa\n"
    "lK0UUv2fSAR23OkToO3Zh1kCGbZlkvXLF8r5gLwO3BtWvRqddQrUt0D740ieCsch\n"
    "6sTTZvLqV+YzfQ1GmN05PnZWcUNHTDp33GRK+dmBHHeNUsWInfWJlVYyok0JqJr/\n"
    "S/dB5or3WT17eOqZGph2tD9rl4D2PphOJ8yg0FO31WZW1z8c00lWeyKiKD9UddhJ\n"
    "G84U4ADEF1iiDBmH6XnFNTSY464A4zouYpxqqVudDBtKFNpLSAP00ju0Z55n2A9G\n"
    "JSSj5m0kUJlf1gJlgJT9BO3nnc236f6ksk2+hG7kZUbj2v5PrBM6Xo4THy9AMms5\n"
    "zWkIvbZXAgMBAAECggEAAQ8KQUVMnCqH2Bf8l6ZLeTnotqndlSRia5qvcxCpnfds\n"
    "cxLkZvWrWHL6u9quUIdSTwHDbDR4eO3v/tTfv4KWBBqq2IlE5aB/RCnLzWvjFR3n\n"
    "uhwsHdcSBgDHqAtNdK9G8uG6raL5EvEJcVhLJs6yLnpflEvDqpbgmCcboiAI9+dz\n"
    "MUUk5QPwS66zqounLsNoalr38DTdkMaLsc8hk5+XqvQ+YhTP2hgn/attXBVCQJID\n"
    "bohoTin6j5N9dh9yKECoTRwc8So/+QiuD3x3B6Sqb5MaonB6djb/+qttFXM0dq2R\n"
    "JCbtKtDdP+xb5pYqR57wDanOk2tw1gk5pzDaKafIgQKBgQD8MpRJy/KbAChyNJiD\n"
    "pHX62fOhYOFBxy33SSKD8Gs4rfDCSns/oFNyYsGLfS0rx/tofP8wMEaSGykKsDo/\n"
    "/pMs+zfXrM1LLQ7kruhYeZ5TES91C6ovki078SbbQmDidCXYmXfeATeVyXkF01AK\n"
    "S6qanFArikWS0bzWqlyUbSav2QKBgQDP+Q3X4FSq5Meml6xKxwlEFS8YDUSkoFio\n"
    "Sm+s2P1hX8reKM3gx1Py2tQkcGknI4oV0MEGgTnsnZCkjBDQ8+bQmYq6v6WPPE7j\n"
    "6f1qUdGd7KyTCUBOxiBNtKHJapAiSEdPEz14gEzMalY2xmoL3MlGxvsN9C0SPon5\n"
    "CIHy9tfprwKBgQDMryhXNKW0U06AUluuDB6M97OaOIzZ3BRcbQkMWGZNXC7ZIaYi\n"
    "H7daUPiQg4nTzL0pMrnSnHvKPSz0Nc8w/SbqDQJnkyITb4B07dg5ZouvE3WW416+\n"
    "uT7pNXG55ofHg0jsILJ+hjJc6WXF6pk9oefXECKpE9IftQY0m5QECwqpEQKBgB7i\n"
    "6Qhne4uJwJDgM6lDV//xeXYD+m7MlX4g1+b+rtq4REOsIa9BSxllIF5tB2DVqVtG\n"
    "DnSt2nFmkSWu24x8vIm8U9saPTdBiKHWjVkt34iprpODqzZHvGJt8h0co11ECLsY\n"
    "q2dq/nzZSgaGfxdV6dqGEKDo44yzFwCSH+J6gGRnAoGAOTSydgMj8Wx/bT+vcZn2\n"
    "0RZ2piF0GUb+4tn4WnAKMQ9PEMgHkGAidOQwpayMFViXxRzcnDsCn1r+1SqCVCI8\n"
    "s97IxV/pQ4bRGJTbeGpbev4qkQRbDc+rxoafzIk2PHG/GNrF2Eke9ctpXMETc8aj\n"
    "qs0gludJTrYZTtJMhDo3JX4=\n"
    "-----END PRIVATE KEY-----\n";

static const char BENCH_RSA2048_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIDEzCCAfugAwIBAgIUOSW5oWrBSc3aGzfwYsMckeFFB3swDQYJKoZIhvcNAQEL\n"
    "BQAwGDEWMBQGA1UEAwwNYmVuY2gtcnNhMjA0ODAgFw0yNjExMjMyMTI2NDhaGA8y\n"
    "MTI2MTAzMDIxMjY0OFowGDEWMBQGA1UEAwwNYmVuY2gtcnNhMjA0ODCCASIwDQYJ\n"
    "KoZIhvcNAQEBBQADggEPADCCAQoCggEBAMziQL0ksn5XsVqUrRRS/Z9IBHbc6ROg\n"
    "7dmHWQIZtmWS9csXyvmAvA7cG1a9Gp11CtS3QPvjSJ4KxyHqxNNm8upX5jN9DUaY\n"
    "3Tk+dlZxQ0dMOnfcZEr52YEcd41SxYid9YmVVjKiTQmomv9L90HmivdZPXt46pka\n"
    "mHa0P2uXgPY+mE4nzKDQU7fVZlbXPxzTSVZ7IqIoP1R12EkbzhTgAMQXWKIMGYfp\n"
    "ecU1NJjjrgDjOi5inGqpW50MG0oU2ktIA/TSO7RnnmfYD0YlJKPmbSRQmV/WAmWA\n"
    "lP0E7eedzbfp/qSyTb6EbuRlRuPa/k+sEzpejhMfL0AyaznNaQi9tlcCAwEAAaNT\n"
    "MFEwHQYDVR0OBBYEFGWC0nci2o7t5m4hEiWxRZG8g3GEMB8GA1UdIwQYMBaAFGWC\n"
    "0nci2o7t5m4hEiWxRZG8g3GEMA8GA1UdEwEB/wQFMAMBAf8wDQYJKoZIhvcNAQEL\n"
    "BQADggEBAEyV+KhpcXW7J1TVdd/erDgsZAUrCAVDEeDeodbVDt+ntGuYBSzoyBLM\n"
    "+kRQt9riOtFAQ67gn/UPJm58QRyZMAQKNAe/i8FczvBtvfiumSPw29pQlBAHskkA\n"
    "l6ecjD8ICet0iQPlt+YTyNmqUNPxHSyiVRE8xklejChi7dY4V+zdqg2yYdIn5UZa\n"
    "8UHO5iA4p7SlLw5GVJ1er7Pv/z8rqzc7A6wtuksMgGqHHjdtvQofvsATVNgsTm4K\n"
    "c+QDblw7s2OefZkE5sNL72CKLNk5PQMoCQSJFdU1fUSInZWknVhkwXj+W1Y4/Ij4\n"
    "6DBtPmYgMnuM2CjJKe3pVBqF3G/ZRcc=\n"
    "-----END CERTIFICATE-----\n";

static const char BENCH_P256_KEY[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgQHLFq4DR75oHwskf\n"
    "zAP3+0i7NMRIvmH7tc7cJoDtp0yhRANCAAQuOh+1TcwKa58L27p0jMfHCXoaj9lR\n"
    "knURZRpqAz0TyQaPX7UmVqZzTfaLMdzZ0/x+M6r9dZ/dNbE7FVa+ZSPr\n"
    "-----END PRIVATE KEY-----\n";

static const char BENCH_P256_CERT[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBgTCCASegAwIBAgIUfGu2rfDrH9/GihT+6Qw1he3ftFEwCgYIKoZIzj0EAwIw\n"
    "FTETMBEGA1UEAwwKYmVuY2gtcDI1NjAgFw0yNjExMjMyMTI2NDhaGA8yMTI2MTAz\n"
    "MDIxMjY0OFowFTETMBEGA1UEAwwKYmVuY2gtcDI1NjBZMBMGByqGSM49AgEGCCqG\n"
    "SM49AwEHA0IABC46H7VNzAprnwvbunSMx8cJehqP2VGSdRFlGmoDPRPJBo9ftSZW\n"
    "pnNN9osx3NnT/H4zqv11n901sTsVVr5lI+ujUzBRMB0GA1UdDgQWBBQPOgyKk062\n"
    "JLaEyTtx4Upm18P0KjAfBgNVHSMEGDAWgBQPOgyKk062JLaEyTtx4Upm18P0KjAP\n"
    "BgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQChsp0FyV4Z3g8lkR7T\n"
    "GuZQb3cSKjGhApKlKYfdZQJuZAIgJan+pUzQHaf8KvNiO2xVsQ13ZHUdgoz3Njsd\n"
    "l10ZB4E=\n"
    "-----END CERTIFICATE-----\n";

#endif /* M6IKE_BENCH_SIG_KEYS_H */
