/*
 * ikev2_msg: the IKEv2 (RFC 7296) message codec, with the RFC 4555 (MOBIKE),
 * RFC 4877 (Mobile IPv6 with IKEv2) and RFC 5026 (MIP6_HOME_PREFIX)
 * additions and the main paper's authenticated handover notification.
 *
 * It is a pure codec: no allocation, no state, no crypto.  The IKEv2
 * engine (ikev2.h) decrypts and encrypts the Encrypted (SK) payload; this
 * unit only lays it out (see "THE ENCRYPTED PAYLOAD" below).
 *
 * RECEIVING.
 *   m6ike_ikev2_msg m;                      // ~2 KB, on the stack is fine
 *   int rc = m6ike_ikev2_parse(&m, buf, len, 0);
 *   if (rc < 0) { notify = m6ike_ikev2_err_to_notify(rc); ... }
 * m6ike_ikev2_parse() checks the IKE header and walks the payload chain,
 * recording for each payload a view (type, critical bit, pointer and length
 * of the body inside buf).  It does not copy: buf must outlive m.  Payload
 * bodies are checked by the typed decoders (m6ike_ikev2_decode_sa(),
 * m6ike_ikev2_decode_notify(), ...), which fill small structs whose
 * variable parts again point into buf; iterators walk proposals,
 * transforms, attributes, traffic selectors and configuration attributes
 * without limits or allocation.  m6ike_ikev2_decode_payload() runs the right
 * decoder for a view (used to validate a whole message at once:
 * m6ike_ikev2_decode_all()).  m6ike_ikev2_check_exchange() then checks the
 * payload types against the exchange table (which payloads each exchange
 * and direction may, and must, carry).
 *
 * SENDING.  An m6ike_ikev2_builder writes into a caller buffer:
 *   m6ike_ikev2_builder b;
 *   m6ike_ikev2_builder_begin(&b, buf, cap, &hdr);
 *   m6ike_ikev2_add_sa(&b, props, nprops, 1);
 *   m6ike_ikev2_add_ke(&b, &ke);
 *   m6ike_ikev2_add_nonce(&b, ni, 32);
 *   int len = m6ike_ikev2_builder_finish(&b);
 * The builder chains next-payload fields and fills every length.  Errors
 * are sticky: after the first failure every later call (and finish)
 * returns the same code, so a caller may check only the result of finish.
 * The add_* functions take the same structs the decoders produce, so a
 * decoded payload re-encodes with one call.
 *
 * THE ENCRYPTED PAYLOAD (RFC 7296 §3.14; RFC 5282 for AEAD):
 *
 *   +-------------------------------+  0
 *   | IKE header (28)               |
 *   +-------------------------------+
 *   | unencrypted payloads (rare)   |
 *   +-------------------------------+  r.payload_off
 *   | SK generic header (4)         |  next payload = first inner payload
 *   +-------------------------------+  r.iv_off
 *   | IV (iv_len)                   |
 *   +-------------------------------+  r.plain_off  (= sk_begin's result)
 *   | inner payloads                |  \
 *   | padding (zero)                |   } r.plain_len: encrypted in place
 *   | pad length (1)                |  /
 *   +-------------------------------+  r.icv_off
 *   | ICV (icv_len)                 |
 *   +-------------------------------+  r.icv_off + icv_len = message length
 *
 * Building (the engine's side):
 *   m6ike_ikev2_builder_begin(&b, buf, cap, &hdr);
 *   int inner = m6ike_ikev2_sk_begin(&b, iv_len);   // offset of inner
 *   m6ike_ikev2_add_id(&b, M6IKE_IKEV2_PL_IDI, &id); // ... inner payloads
 *   m6ike_ikev2_sk_end(&b, block_size, icv_len, &r); // pads, reserves ICV
 *   int len = m6ike_ikev2_builder_finish(&b);        // header length set
 *   then: write the IV at buf + r.iv_off; encrypt buf[r.plain_off,
 *   +r.plain_len) in place; and
 *     AEAD (AES-GCM, RFC 5282): AAD = buf[0, r.iv_off) (IKE header and SK
 *       generic header), tag -> buf[r.icv_off, +icv_len);
 *     otherwise: ICV = MAC over buf[0, r.icv_off) -> buf + r.icv_off.
 * Every length in the header and the SK header is final after finish(),
 * so the engine must run its crypto after finish().  Nothing may be added
 * after sk_end() (the SK payload is always the last payload).
 *
 * Receiving: m6ike_ikev2_sk_layout() splits the received SK body into IV,
 * ciphertext and ICV; the engine verifies and decrypts into its own
 * buffer, calls m6ike_ikev2_sk_strip_padding(), then
 * m6ike_ikev2_parse_inner(&m, plain, inner_len), which appends the inner
 * payload views to m (flag `inner` set; they point into plain).
 *
 * ERRORS.  Range -600..-649 (the engine owns -650..-699).  Each decoding
 * error maps to the Notify a responder sends with
 * m6ike_ikev2_err_to_notify() (0 = send nothing, drop).
 */
#ifndef M6IKE_IKEV2_MSG_H
#define M6IKE_IKEV2_MSG_H

#include "m6ike/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------- */
/* Error codes                                                            */
/* ---------------------------------------------------------------------- */
enum {
  /* message level (m6ike_ikev2_parse) */
  M6IKE_ERR_IKEV2_HDR_TRUNCATED = -600,  /* fewer than 28 octets */
  M6IKE_ERR_IKEV2_MAJOR_VERSION = -601,  /* major version != 2 */
  M6IKE_ERR_IKEV2_MSG_LENGTH = -602,     /* Length < 28 or != buffer length */
  M6IKE_ERR_IKEV2_MSG_TRUNCATED = -603,  /* Length > buffer length */
  M6IKE_ERR_IKEV2_PL_TRUNCATED = -604,   /* < 4 octets left for a payload
                                            header the chain announces */
  M6IKE_ERR_IKEV2_PL_LENGTH = -605,      /* Payload Length < 4 */
  M6IKE_ERR_IKEV2_PL_OVERRUN = -606,     /* Payload Length past the end */
  M6IKE_ERR_IKEV2_TRAILING = -607,       /* octets after the last payload */
  M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL = -608, /* unknown type, C bit set;
                                                  type in msg->err_type */
  M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS = -609, /* > M6IKE_IKEV2_MAX_PAYLOADS */
  M6IKE_ERR_IKEV2_SK_NOT_LAST = -610,    /* payload after SK */
  M6IKE_ERR_IKEV2_SK_NESTED = -611,      /* SK inside SK */
  /* payload bodies (typed decoders) */
  M6IKE_ERR_IKEV2_BODY_SHORT = -612,     /* body shorter than fixed part */
  M6IKE_ERR_IKEV2_PROPOSAL = -613,       /* proposal length/marker/protocol/
                                            SPI size/transform count */
  M6IKE_ERR_IKEV2_PROPOSAL_NUM = -614,   /* numbering not 1,2,3.. (+1) */
  M6IKE_ERR_IKEV2_TRANSFORM = -615,      /* transform length or marker */
  M6IKE_ERR_IKEV2_ATTRIBUTE = -616,      /* transform attribute format */
  M6IKE_ERR_IKEV2_TS = -617,             /* TS count/type/length/range */
  M6IKE_ERR_IKEV2_ID = -618,             /* ID data length for its type */
  M6IKE_ERR_IKEV2_NOTIFY = -619,         /* SPI size/data length for type */
  M6IKE_ERR_IKEV2_DELETE = -620,         /* SPI size/count vs length */
  M6IKE_ERR_IKEV2_CP = -621,             /* configuration attribute format */
  M6IKE_ERR_IKEV2_NONCE = -622,          /* nonce not 16..256 octets */
  M6IKE_ERR_IKEV2_CERT = -623,           /* CERTREQ hash list length */
  M6IKE_ERR_IKEV2_EAP = -624,            /* EAP length != payload body */
  M6IKE_ERR_IKEV2_WRONG_TYPE = -625,     /* decoder called on another type */
  /* exchange table (m6ike_ikev2_check_exchange) */
  M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE = -626, /* exchange type not 34..37 */
  M6IKE_ERR_IKEV2_PL_NOT_ALLOWED = -627, /* type in msg->err_type */
  M6IKE_ERR_IKEV2_PL_MISSING = -628,     /* type in msg->err_type */
  M6IKE_ERR_IKEV2_PL_REPEATED = -629,    /* more than allowed; err_type */
  M6IKE_ERR_IKEV2_NOT_ENCRYPTED = -630,  /* SK missing, or a payload outside
                                            SK that must be inside */
  /* SK layout */
  M6IKE_ERR_IKEV2_SK_SHORT = -631,       /* SK body < IV + ICV, or block
                                            misalignment */
  M6IKE_ERR_IKEV2_SK_PADDING = -632,     /* pad length > plaintext */
  /* builder */
  M6IKE_ERR_IKEV2_BUILDER_STATE = -633,  /* call out of order */
  M6IKE_ERR_IKEV2_TOO_LONG = -634,       /* a length overflows its field */
  /* added after the first API commit */
  M6IKE_ERR_IKEV2_KE = -635              /* KE data length wrong for a known
                                            group (RFC 7296 §3.4) */
  /* also: M6IKE_ERR_INVALID_ARGUMENT, M6IKE_ERR_NOBUF,
     M6IKE_ERR_INVALID_STATE, M6IKE_ERR_NOT_FOUND (common.h) */
};

/* ---------------------------------------------------------------------- */
/* Protocol numbers (IANA "IKEv2 Parameters")                             */
/* ---------------------------------------------------------------------- */
#define M6IKE_IKEV2_HDR_LEN 28
#define M6IKE_IKEV2_PL_HDR_LEN 4
#define M6IKE_IKEV2_MAJOR 2
#define M6IKE_IKEV2_MINOR 0
/* The most payload views one m6ike_ikev2_msg holds (outer + inner). */
#define M6IKE_IKEV2_MAX_PAYLOADS 48

/* Exchange types */
enum {
  M6IKE_IKEV2_IKE_SA_INIT = 34,
  M6IKE_IKEV2_IKE_AUTH = 35,
  M6IKE_IKEV2_CREATE_CHILD_SA = 36,
  M6IKE_IKEV2_INFORMATIONAL = 37
};

/* Header flags */
enum {
  M6IKE_IKEV2_FLAG_I = 0x08, /* Initiator (sent by the original initiator) */
  M6IKE_IKEV2_FLAG_V = 0x10, /* Version: can speak a higher major */
  M6IKE_IKEV2_FLAG_R = 0x20  /* Response */
};

/* Payload types */
enum {
  M6IKE_IKEV2_PL_NONE = 0,
  M6IKE_IKEV2_PL_SA = 33,
  M6IKE_IKEV2_PL_KE = 34,
  M6IKE_IKEV2_PL_IDI = 35,
  M6IKE_IKEV2_PL_IDR = 36,
  M6IKE_IKEV2_PL_CERT = 37,
  M6IKE_IKEV2_PL_CERTREQ = 38,
  M6IKE_IKEV2_PL_AUTH = 39,
  M6IKE_IKEV2_PL_NONCE = 40,
  M6IKE_IKEV2_PL_NOTIFY = 41,
  M6IKE_IKEV2_PL_DELETE = 42,
  M6IKE_IKEV2_PL_VENDOR = 43,
  M6IKE_IKEV2_PL_TSI = 44,
  M6IKE_IKEV2_PL_TSR = 45,
  M6IKE_IKEV2_PL_SK = 46,
  M6IKE_IKEV2_PL_CP = 47,
  M6IKE_IKEV2_PL_EAP = 48
};

/* Protocol IDs (proposals, Notify, Delete) */
enum {
  M6IKE_IKEV2_PROTO_NONE = 0,
  M6IKE_IKEV2_PROTO_IKE = 1,
  M6IKE_IKEV2_PROTO_AH = 2,
  M6IKE_IKEV2_PROTO_ESP = 3
};

/* Transform types and IDs */
enum {
  M6IKE_IKEV2_TRANS_ENCR = 1,
  M6IKE_IKEV2_TRANS_PRF = 2,
  M6IKE_IKEV2_TRANS_INTEG = 3,
  M6IKE_IKEV2_TRANS_DH = 4,
  M6IKE_IKEV2_TRANS_ESN = 5
};
enum {
  M6IKE_IKEV2_ENCR_3DES = 3,
  M6IKE_IKEV2_ENCR_NULL = 11,
  M6IKE_IKEV2_ENCR_AES_CBC = 12,
  M6IKE_IKEV2_ENCR_AES_CTR = 13,
  M6IKE_IKEV2_ENCR_AES_GCM_8 = 18,
  M6IKE_IKEV2_ENCR_AES_GCM_12 = 19,
  M6IKE_IKEV2_ENCR_AES_GCM_16 = 20,
  M6IKE_IKEV2_ENCR_CHACHA20_POLY1305 = 28
};
enum {
  M6IKE_IKEV2_PRF_HMAC_MD5 = 1,
  M6IKE_IKEV2_PRF_HMAC_SHA1 = 2,
  M6IKE_IKEV2_PRF_AES128_XCBC = 4,
  M6IKE_IKEV2_PRF_HMAC_SHA2_256 = 5,
  M6IKE_IKEV2_PRF_HMAC_SHA2_384 = 6,
  M6IKE_IKEV2_PRF_HMAC_SHA2_512 = 7
};
enum {
  M6IKE_IKEV2_INTEG_NONE = 0,
  M6IKE_IKEV2_INTEG_HMAC_MD5_96 = 1,
  M6IKE_IKEV2_INTEG_HMAC_SHA1_96 = 2,
  M6IKE_IKEV2_INTEG_AES_XCBC_96 = 5,
  M6IKE_IKEV2_INTEG_HMAC_SHA2_256_128 = 12,
  M6IKE_IKEV2_INTEG_HMAC_SHA2_384_192 = 13,
  M6IKE_IKEV2_INTEG_HMAC_SHA2_512_256 = 14
};
enum {
  M6IKE_IKEV2_DH_NONE = 0,
  M6IKE_IKEV2_DH_MODP768 = 1,
  M6IKE_IKEV2_DH_MODP1024 = 2,
  M6IKE_IKEV2_DH_MODP1536 = 5,
  M6IKE_IKEV2_DH_MODP2048 = 14,
  M6IKE_IKEV2_DH_MODP3072 = 15,
  M6IKE_IKEV2_DH_MODP4096 = 16,
  M6IKE_IKEV2_DH_ECP256 = 19,
  M6IKE_IKEV2_DH_ECP384 = 20,
  M6IKE_IKEV2_DH_ECP521 = 21,
  M6IKE_IKEV2_DH_CURVE25519 = 31,
  M6IKE_IKEV2_DH_CURVE448 = 32
};
enum { M6IKE_IKEV2_ESN_NO = 0, M6IKE_IKEV2_ESN_YES = 1 };
/* Transform attribute types */
enum { M6IKE_IKEV2_ATTR_KEY_LENGTH = 14 };

/* Identification types */
enum {
  M6IKE_IKEV2_ID_IPV4_ADDR = 1,
  M6IKE_IKEV2_ID_FQDN = 2,
  M6IKE_IKEV2_ID_RFC822_ADDR = 3,
  M6IKE_IKEV2_ID_IPV6_ADDR = 5,
  M6IKE_IKEV2_ID_DER_ASN1_DN = 9,
  M6IKE_IKEV2_ID_DER_ASN1_GN = 10,
  M6IKE_IKEV2_ID_KEY_ID = 11
};

/* Certificate encodings (CERT, CERTREQ) */
enum {
  M6IKE_IKEV2_CERT_X509_SIG = 4,
  M6IKE_IKEV2_CERT_CRL = 7,
  M6IKE_IKEV2_CERT_RAW_RSA = 11,
  M6IKE_IKEV2_CERT_HASH_URL_X509 = 12,
  M6IKE_IKEV2_CERT_HASH_URL_BUNDLE = 13
};

/* Authentication methods */
enum {
  M6IKE_IKEV2_AUTH_RSA_SIG = 1,
  M6IKE_IKEV2_AUTH_PSK = 2, /* Shared Key Message Integrity Code */
  M6IKE_IKEV2_AUTH_DSS_SIG = 3,
  M6IKE_IKEV2_AUTH_ECDSA_256 = 9,
  M6IKE_IKEV2_AUTH_ECDSA_384 = 10,
  M6IKE_IKEV2_AUTH_ECDSA_521 = 11,
  M6IKE_IKEV2_AUTH_DIGITAL_SIG = 14 /* RFC 7427 */
};

/* Notify message types.  Errors are < 16384, status types >= 16384. */
enum {
  /* RFC 7296 errors */
  M6IKE_IKEV2_N_UNSUPPORTED_CRITICAL_PAYLOAD = 1,
  M6IKE_IKEV2_N_INVALID_IKE_SPI = 4,
  M6IKE_IKEV2_N_INVALID_MAJOR_VERSION = 5,
  M6IKE_IKEV2_N_INVALID_SYNTAX = 7,
  M6IKE_IKEV2_N_INVALID_MESSAGE_ID = 9,
  M6IKE_IKEV2_N_INVALID_SPI = 11,
  M6IKE_IKEV2_N_NO_PROPOSAL_CHOSEN = 14,
  M6IKE_IKEV2_N_INVALID_KE_PAYLOAD = 17, /* data: the wanted DH group */
  M6IKE_IKEV2_N_AUTHENTICATION_FAILED = 24,
  M6IKE_IKEV2_N_SINGLE_PAIR_REQUIRED = 34,
  M6IKE_IKEV2_N_NO_ADDITIONAL_SAS = 35,
  M6IKE_IKEV2_N_INTERNAL_ADDRESS_FAILURE = 36,
  M6IKE_IKEV2_N_FAILED_CP_REQUIRED = 37,
  M6IKE_IKEV2_N_TS_UNACCEPTABLE = 38,
  M6IKE_IKEV2_N_INVALID_SELECTORS = 39,
  /* RFC 4555 errors */
  M6IKE_IKEV2_N_UNACCEPTABLE_ADDRESSES = 40,
  M6IKE_IKEV2_N_UNEXPECTED_NAT_DETECTED = 41,
  /* RFC 7296 errors (continued) */
  M6IKE_IKEV2_N_TEMPORARY_FAILURE = 43,
  M6IKE_IKEV2_N_CHILD_SA_NOT_FOUND = 44,
  /* RFC 7296 status types */
  M6IKE_IKEV2_N_INITIAL_CONTACT = 16384,
  M6IKE_IKEV2_N_SET_WINDOW_SIZE = 16385,
  M6IKE_IKEV2_N_ADDITIONAL_TS_POSSIBLE = 16386,
  M6IKE_IKEV2_N_IPCOMP_SUPPORTED = 16387,
  M6IKE_IKEV2_N_NAT_DETECTION_SOURCE_IP = 16388,      /* data: 20-octet hash */
  M6IKE_IKEV2_N_NAT_DETECTION_DESTINATION_IP = 16389, /* data: 20-octet hash */
  M6IKE_IKEV2_N_COOKIE = 16390,                       /* data: 1..64 */
  M6IKE_IKEV2_N_USE_TRANSPORT_MODE = 16391,
  M6IKE_IKEV2_N_HTTP_CERT_LOOKUP_SUPPORTED = 16392,
  M6IKE_IKEV2_N_REKEY_SA = 16393, /* protocol AH/ESP + the SPI */
  M6IKE_IKEV2_N_ESP_TFC_PADDING_NOT_SUPPORTED = 16394,
  M6IKE_IKEV2_N_NON_FIRST_FRAGMENTS_ALSO = 16395,
  /* RFC 4555 (MOBIKE) status types */
  M6IKE_IKEV2_N_MOBIKE_SUPPORTED = 16396,
  M6IKE_IKEV2_N_ADDITIONAL_IP4_ADDRESS = 16397, /* data: 4 octets */
  M6IKE_IKEV2_N_ADDITIONAL_IP6_ADDRESS = 16398, /* data: 16 octets */
  M6IKE_IKEV2_N_NO_ADDITIONAL_ADDRESSES = 16399,
  M6IKE_IKEV2_N_UPDATE_SA_ADDRESSES = 16400,
  M6IKE_IKEV2_N_COOKIE2 = 16401, /* data: 8..64 octets */
  M6IKE_IKEV2_N_NO_NATS_ALLOWED = 16402,
  /* RFC 7383 / RFC 7427 (recognised by name only) */
  M6IKE_IKEV2_N_IKEV2_FRAGMENTATION_SUPPORTED = 16430,
  M6IKE_IKEV2_N_SIGNATURE_HASH_ALGORITHMS = 16431,
  /*
   * Private use (40960..65535): the main paper's authenticated handover
   * notification.  Sent by the MN in an INFORMATIONAL request (so inside
   * SK: integrity-protected and replay-protected by the IKE SA's message
   * IDs) after it updated its own tunnel SAs' endpoints directly; the HA
   * moves the SAs of the MSRD entry with this MPI to the new CoA and
   * answers with an empty INFORMATIONAL response.
   *   Protocol ID 0, SPI Size 0, Notification data (20 octets):
   *   +---------------+---------------+---------------+---------------+
   *   |                         MPI (32 bits)                         |
   *   +---------------+---------------+---------------+---------------+
   *   |                                                               |
   *   +                new care-of address (128 bits)                 +
   *   |                                                               |
   *   +---------------+---------------+---------------+---------------+
   */
  M6IKE_IKEV2_N_M6IKE_SA_ADDRESS_UPDATE = 40961
};
#define M6IKE_IKEV2_N_STATUS_MIN 16384
#define M6IKE_IKEV2_M6IKE_UPDATE_LEN 20
#define M6IKE_IKEV2_NAT_D_LEN 20

/* Traffic selector types and RFC 4877 helpers */
enum {
  M6IKE_IKEV2_TS_IPV4_ADDR_RANGE = 7,
  M6IKE_IKEV2_TS_IPV6_ADDR_RANGE = 8
};
#define M6IKE_IKEV2_IPPROTO_MH 135 /* Mobility Header */

/* Configuration payload */
enum {
  M6IKE_IKEV2_CFG_REQUEST = 1,
  M6IKE_IKEV2_CFG_REPLY = 2,
  M6IKE_IKEV2_CFG_SET = 3,
  M6IKE_IKEV2_CFG_ACK = 4
};
enum {
  M6IKE_IKEV2_CP_INTERNAL_IP4_ADDRESS = 1,  /* 0 or 4 */
  M6IKE_IKEV2_CP_INTERNAL_IP4_NETMASK = 2,  /* 0 or 4 */
  M6IKE_IKEV2_CP_INTERNAL_IP4_DNS = 3,      /* 0 or 4 */
  M6IKE_IKEV2_CP_INTERNAL_IP4_NBNS = 4,     /* 0 or 4 */
  M6IKE_IKEV2_CP_INTERNAL_IP4_DHCP = 6,     /* 0 or 4 */
  M6IKE_IKEV2_CP_APPLICATION_VERSION = 7,   /* any */
  M6IKE_IKEV2_CP_INTERNAL_IP6_ADDRESS = 8,  /* 0 or 17: addr + prefix len */
  M6IKE_IKEV2_CP_INTERNAL_IP6_DNS = 10,     /* 0 or 16 */
  M6IKE_IKEV2_CP_INTERNAL_IP6_DHCP = 12,    /* 0 or 16 */
  M6IKE_IKEV2_CP_INTERNAL_IP4_SUBNET = 13,  /* 0 or 8 */
  M6IKE_IKEV2_CP_SUPPORTED_ATTRIBUTES = 14, /* even */
  M6IKE_IKEV2_CP_INTERNAL_IP6_SUBNET = 15,  /* 0 or 17 */
  M6IKE_IKEV2_CP_MIP6_HOME_PREFIX = 16      /* RFC 5026: 0 or 21 */
};
#define M6IKE_IKEV2_CP_IP6_ADDRESS_LEN 17
#define M6IKE_IKEV2_CP_MIP6_HOME_PREFIX_LEN 21

/* ---------------------------------------------------------------------- */
/* Parsed message                                                         */
/* ---------------------------------------------------------------------- */

/* The IKE header (RFC 7296 §3.1).  SPIs as big-endian 64-bit values. */
typedef struct m6ike_ikev2_hdr {
  uint64_t ispi;        /* IKE SA Initiator's SPI */
  uint64_t rspi;        /* IKE SA Responder's SPI (0 in IKE_SA_INIT req) */
  uint8_t next_payload; /* first payload type */
  uint8_t major;        /* 2 */
  uint8_t minor;        /* 0 on send, ignored on receipt */
  uint8_t exchange;     /* M6IKE_IKEV2_IKE_SA_INIT ... */
  uint8_t flags;        /* M6IKE_IKEV2_FLAG_* (other bits kept as read) */
  uint32_t msg_id;
  uint32_t length;      /* whole message, octets */
} m6ike_ikev2_hdr;

/* A view of one payload inside the caller's buffer. */
typedef struct m6ike_ikev2_payload {
  uint8_t type;     /* payload type (M6IKE_IKEV2_PL_*, or an unknown one) */
  uint8_t next;     /* Next Payload field (for SK: the first inner type) */
  uint8_t critical; /* the C bit */
  uint8_t inner;    /* 1 if carried inside SK (added by parse_inner) */
  uint8_t known;    /* 1 if the type is one of RFC 7296's (33..48) */
  const uint8_t *hdr;  /* the generic payload header (4 octets) */
  const uint8_t *body; /* after the generic header */
  size_t body_len;
} m6ike_ikev2_payload;

typedef struct m6ike_ikev2_msg {
  m6ike_ikev2_hdr hdr;
  const uint8_t *buf; /* the message */
  size_t len;
  unsigned count;       /* views in pl[]: outer first, then inner */
  unsigned outer_count; /* views of payloads outside SK (incl. SK itself) */
  int sk;               /* index of the SK view in pl[], -1 if none */
  int inner_parsed;     /* 1 after a successful m6ike_ikev2_parse_inner */
  uint8_t err_type;     /* payload type the last error is about (unknown
                           critical, not allowed, missing, repeated), or 0 */
  size_t err_offset;    /* offset in the buffer of the failing payload */
  m6ike_ikev2_payload pl[M6IKE_IKEV2_MAX_PAYLOADS];
} m6ike_ikev2_msg;

/* m6ike_ikev2_parse() flags */
#define M6IKE_IKEV2_PARSE_ALLOW_TRAILING 0x1 /* buffer may be longer than
                                                the Length field says */

/*
 * Decodes the 28-octet IKE header (no version or length checks).
 * Returns 28 or M6IKE_ERR_IKEV2_HDR_TRUNCATED.
 */
int m6ike_ikev2_hdr_decode(m6ike_ikev2_hdr *hdr, const uint8_t *buf,
                           size_t len);
/* Writes the 28-octet header; returns 28 or M6IKE_ERR_NOBUF. */
int m6ike_ikev2_hdr_encode(uint8_t *buf, size_t cap,
                           const m6ike_ikev2_hdr *hdr);

/*
 * Parses a message: header and payload chain (outer payloads; the SK body
 * stays opaque).  Returns the message length (octets consumed) or:
 *   M6IKE_ERR_IKEV2_HDR_TRUNCATED   len < 28
 *   M6IKE_ERR_IKEV2_MAJOR_VERSION   major version != 2 (msg->hdr valid)
 *   M6IKE_ERR_IKEV2_MSG_LENGTH      Length < 28, or != len (unless
 *                                   M6IKE_IKEV2_PARSE_ALLOW_TRAILING)
 *   M6IKE_ERR_IKEV2_MSG_TRUNCATED   Length > len
 *   M6IKE_ERR_IKEV2_PL_TRUNCATED    a payload header cut by the end
 *   M6IKE_ERR_IKEV2_PL_LENGTH       a Payload Length < 4
 *   M6IKE_ERR_IKEV2_PL_OVERRUN      a payload runs past the end
 *   M6IKE_ERR_IKEV2_TRAILING        octets after the last payload
 *   M6IKE_ERR_IKEV2_UNSUPPORTED_CRITICAL  msg->err_type = the type
 *   M6IKE_ERR_IKEV2_TOO_MANY_PAYLOADS
 *   M6IKE_ERR_IKEV2_SK_NOT_LAST
 *   M6IKE_ERR_INVALID_ARGUMENT      NULL msg or buf
 * On every error except HDR_TRUNCATED, msg->hdr holds the header (the
 * engine needs the SPIs and message ID to answer); msg->err_offset is the
 * offset of the failing payload.  Unknown non-critical payloads are kept as
 * views with known = 0 (RFC 7296 §2.5: skipped by the engine).  Payload
 * bodies are not checked here: run m6ike_ikev2_decode_all() or the typed
 * decoders.
 */
int m6ike_ikev2_parse(m6ike_ikev2_msg *msg, const uint8_t *buf, size_t len,
                      unsigned flags);

/*
 * Appends the payloads inside the SK payload to msg: plain/len is the
 * decrypted plaintext WITHOUT padding and pad length (see
 * m6ike_ikev2_sk_strip_padding); the first type is the SK view's `next`.
 * plain must outlive msg.  Returns 0 or the chain errors of
 * m6ike_ikev2_parse (PL_TRUNCATED, PL_LENGTH, PL_OVERRUN, TRAILING,
 * UNSUPPORTED_CRITICAL, TOO_MANY_PAYLOADS), M6IKE_ERR_IKEV2_SK_NESTED, or
 * M6IKE_ERR_INVALID_STATE (no SK payload, or inner payloads already
 * parsed).  On error no inner view is kept (count == outer_count).
 */
int m6ike_ikev2_parse_inner(m6ike_ikev2_msg *msg, const uint8_t *plain,
                            size_t len);

/* Where the parts of a received SK payload are, as offsets in msg->buf. */
typedef struct m6ike_ikev2_sk_region {
  size_t payload_off; /* SK generic header */
  size_t iv_off;      /* IV; AEAD AAD = buf[0, iv_off) */
  size_t iv_len;
  size_t plain_off;   /* ciphertext (received) / plaintext (built) */
  size_t plain_len;   /* including padding and pad length */
  size_t icv_off;     /* ICV; non-AEAD MAC covers buf[0, icv_off) */
  size_t icv_len;
} m6ike_ikev2_sk_region;

/*
 * Splits the SK body of a parsed message.  block_size (1 for AEAD/stream
 * ciphers, 1..255) is checked against the ciphertext length.  Returns 0,
 * M6IKE_ERR_INVALID_STATE (no SK), M6IKE_ERR_INVALID_ARGUMENT
 * (block_size 0), or M6IKE_ERR_IKEV2_SK_SHORT (body < iv + icv + 1 or
 * ciphertext not a multiple of block_size).
 */
int m6ike_ikev2_sk_layout(const m6ike_ikev2_msg *msg, size_t iv_len,
                          size_t icv_len, size_t block_size,
                          m6ike_ikev2_sk_region *out);

/*
 * Given decrypted plaintext (inner payloads, padding, pad length octet),
 * stores the length of the inner payloads in *inner_len.  Returns 0 or
 * M6IKE_ERR_IKEV2_SK_PADDING (len 0 or pad length + 1 > len).
 */
int m6ike_ikev2_sk_strip_padding(const uint8_t *plain, size_t len,
                                 size_t *inner_len);

/* Index of the first view of type at index >= from, or -1. */
int m6ike_ikev2_find(const m6ike_ikev2_msg *msg, uint8_t type, unsigned from);

/* ---------------------------------------------------------------------- */
/* Typed payloads (decoded structs; pointers into the message buffer)     */
/* ---------------------------------------------------------------------- */

/* Opaque-body payloads: Nonce, Vendor ID, EAP, SK, unknown. */
typedef struct m6ike_ikev2_blob {
  const uint8_t *data;
  size_t len;
} m6ike_ikev2_blob;

/* SA payload (§3.3).  Iterate with m6ike_ikev2_sa_next_proposal(). */
typedef struct m6ike_ikev2_sa {
  unsigned n_proposals;
  const uint8_t *props; /* the body */
  size_t len;
} m6ike_ikev2_sa;

typedef struct m6ike_ikev2_proposal {
  uint8_t num;          /* Proposal Num */
  uint8_t proto;        /* M6IKE_IKEV2_PROTO_* */
  uint8_t spi_size;
  uint8_t n_transforms;
  const uint8_t *spi;   /* spi_size octets */
  const uint8_t *xf;    /* the transforms */
  size_t xf_len;
} m6ike_ikev2_proposal;

typedef struct m6ike_ikev2_transform {
  uint8_t type;         /* M6IKE_IKEV2_TRANS_* */
  uint16_t id;
  int32_t key_len;      /* Key Length attribute in bits, -1 if absent */
  const uint8_t *attrs; /* all attributes, incl. Key Length */
  size_t attrs_len;
} m6ike_ikev2_transform;

typedef struct m6ike_ikev2_attr {
  uint16_t type; /* without the AF bit */
  uint8_t tv;    /* 1: TV format (AF=1), value in `value`; 0: TLV */
  uint16_t value;
  const uint8_t *data; /* TLV value */
  uint16_t len;        /* TLV length */
} m6ike_ikev2_attr;

/* KE payload (§3.4) */
typedef struct m6ike_ikev2_ke {
  uint16_t group;
  const uint8_t *data;
  size_t len;
} m6ike_ikev2_ke;

/* IDi / IDr (§3.5) */
typedef struct m6ike_ikev2_id {
  uint8_t id_type;
  const uint8_t *data;
  size_t len;
} m6ike_ikev2_id;

/* CERT and CERTREQ (§3.6, §3.7) */
typedef struct m6ike_ikev2_cert {
  uint8_t encoding;
  const uint8_t *data;
  size_t len;
} m6ike_ikev2_cert;

/* AUTH (§3.8) */
typedef struct m6ike_ikev2_auth {
  uint8_t method;
  const uint8_t *data;
  size_t len;
} m6ike_ikev2_auth;

/* Notify (§3.10).  The typed fields are set when `type` has them. */
typedef struct m6ike_ikev2_notify {
  uint8_t proto;    /* Protocol ID */
  uint8_t spi_size;
  uint16_t type;    /* M6IKE_IKEV2_N_* */
  const uint8_t *spi;
  const uint8_t *data;
  size_t len;
  /* typed views of data (valid for the listed types only): */
  uint16_t ke_group;  /* INVALID_KE_PAYLOAD */
  uint32_t mpi;       /* M6IKE_SA_ADDRESS_UPDATE */
  m6ike_addr6 addr6;  /* ADDITIONAL_IP6_ADDRESS, M6IKE_SA_ADDRESS_UPDATE */
  uint8_t addr4[4];   /* ADDITIONAL_IP4_ADDRESS */
  uint32_t spi32;     /* REKEY_SA, and any notify with a 4-octet SPI */
} m6ike_ikev2_notify;

/* Delete (§3.11) */
typedef struct m6ike_ikev2_delete {
  uint8_t proto;
  uint8_t spi_size;  /* 0 for IKE, 4 for AH/ESP */
  uint16_t num_spi;
  const uint8_t *spis; /* num_spi * spi_size octets */
} m6ike_ikev2_delete;

/* TSi / TSr (§3.13).  Iterate with m6ike_ikev2_ts_next(). */
typedef struct m6ike_ikev2_ts_payload {
  uint8_t num_ts;
  const uint8_t *sel;
  size_t len;
} m6ike_ikev2_ts_payload;

typedef struct m6ike_ikev2_ts {
  uint8_t ts_type;  /* M6IKE_IKEV2_TS_IPV4/IPV6_ADDR_RANGE */
  uint8_t ip_proto; /* 0 = any */
  uint16_t start_port, end_port;
  uint8_t start_addr[16]; /* IPv4: first 4 octets, rest zero */
  uint8_t end_addr[16];
} m6ike_ikev2_ts;

/* CP (§3.15).  Iterate with m6ike_ikev2_cp_next(). */
typedef struct m6ike_ikev2_cp {
  uint8_t cfg_type; /* M6IKE_IKEV2_CFG_* */
  unsigned n_attrs;
  const uint8_t *attrs;
  size_t len;
} m6ike_ikev2_cp;

typedef struct m6ike_ikev2_cp_attr {
  uint16_t type; /* 15 bits, M6IKE_IKEV2_CP_* */
  uint16_t len;
  const uint8_t *value;
} m6ike_ikev2_cp_attr;

/*
 * Typed decoders.  Each takes a view of its own payload type and returns 0
 * or M6IKE_ERR_IKEV2_WRONG_TYPE, M6IKE_ERR_IKEV2_BODY_SHORT, and:
 *   decode_sa: PROPOSAL, PROPOSAL_NUM, TRANSFORM, ATTRIBUTE.  Checks the
 *     whole SA: at least one proposal; each proposal's length and Last
 *     Substruc (0 last / 2 more); proposal numbers consecutive from the
 *     first (>= 1; 1 in an offer: see m6ike_ikev2_check_exchange);
 *     Protocol ID != 0; SPI Size 0 or 8 for IKE, 4 for AH/ESP; the
 *     transform count; each transform's length >= 8 and Last Substruc
 *     (0 / 3); attribute TV/TLV lengths; at most one Key Length, in TV.
 *   decode_ke: KE (for the groups of this header the data length must
 *     be the group's: MODP 768..8192 -> 96..1024, ECP256 64, ECP384 96,
 *     ECP521 132, Curve25519 32, Curve448 56; other groups: any).
 *   decode_id: ID (IPV4 needs 4 octets, IPV6 16, others >= 1).
 *   decode_cert / decode_certreq: CERT (CERTREQ with X.509 encoding: a
 *     multiple of 20 octets).
 *   decode_auth: (method + reserved).
 *   decode_nonce: NONCE (16..256 octets).
 *   decode_notify: NOTIFY (SPI Size beyond body; data length for
 *     INVALID_KE_PAYLOAD 2, NAT_DETECTION_* 20, COOKIE 1..64, COOKIE2
 *     8..64, ADDITIONAL_IP4 4, ADDITIONAL_IP6 16, M6IKE_SA_ADDRESS_UPDATE
 *     20, REKEY_SA SPI size 4 and protocol AH/ESP).
 *   decode_delete: DELETE (IKE: SPI size 0 and no SPIs; AH/ESP: SPI size 4;
 *     length == num * size).
 *   decode_ts: TS (num >= 1, each selector's length 16 (IPv4) or 40 (IPv6)
 *     and within the body, count matches the body exactly; unknown TS
 *     types are rejected as RFC 7296 §3.13.1 has no other IP types).
 *   decode_cp: CP (attribute header/length within the body; known
 *     attributes' lengths as listed above).
 *   decode_blob: any payload (Nonce, V, EAP, SK, unknown): the body.
 *   decode_eap: EAP (body >= 4 and its Length field == body length).
 */
int m6ike_ikev2_decode_sa(const m6ike_ikev2_payload *pl, m6ike_ikev2_sa *out);
int m6ike_ikev2_decode_ke(const m6ike_ikev2_payload *pl, m6ike_ikev2_ke *out);
int m6ike_ikev2_decode_id(const m6ike_ikev2_payload *pl, m6ike_ikev2_id *out);
int m6ike_ikev2_decode_cert(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_cert *out);
int m6ike_ikev2_decode_certreq(const m6ike_ikev2_payload *pl,
                               m6ike_ikev2_cert *out);
int m6ike_ikev2_decode_auth(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_auth *out);
int m6ike_ikev2_decode_nonce(const m6ike_ikev2_payload *pl,
                             m6ike_ikev2_blob *out);
int m6ike_ikev2_decode_notify(const m6ike_ikev2_payload *pl,
                              m6ike_ikev2_notify *out);
int m6ike_ikev2_decode_delete(const m6ike_ikev2_payload *pl,
                              m6ike_ikev2_delete *out);
int m6ike_ikev2_decode_ts(const m6ike_ikev2_payload *pl,
                          m6ike_ikev2_ts_payload *out);
int m6ike_ikev2_decode_cp(const m6ike_ikev2_payload *pl, m6ike_ikev2_cp *out);
int m6ike_ikev2_decode_eap(const m6ike_ikev2_payload *pl,
                           m6ike_ikev2_blob *out);
int m6ike_ikev2_decode_blob(const m6ike_ikev2_payload *pl,
                            m6ike_ikev2_blob *out);

/* Runs the typed decoder of one view (unknown types: OK).  Returns 0 or
 * that decoder's code. */
int m6ike_ikev2_decode_payload(const m6ike_ikev2_payload *pl);
/* Decodes every view of msg; on error msg->err_type/err_offset name the
 * payload.  Returns 0 or the first decoder code. */
int m6ike_ikev2_decode_all(m6ike_ikev2_msg *msg);

/*
 * Iterators over already-decoded payloads (they cannot fail: the decoder
 * checked everything).  *pos starts at 0.  Return 1 with *out filled, or 0
 * at the end.
 *   size_t pos = 0; m6ike_ikev2_proposal p;
 *   while (m6ike_ikev2_sa_next_proposal(&sa, &pos, &p)) { ... }
 */
int m6ike_ikev2_sa_next_proposal(const m6ike_ikev2_sa *sa, size_t *pos,
                                 m6ike_ikev2_proposal *out);
int m6ike_ikev2_proposal_next_transform(const m6ike_ikev2_proposal *p,
                                        size_t *pos,
                                        m6ike_ikev2_transform *out);
int m6ike_ikev2_transform_next_attr(const m6ike_ikev2_transform *t,
                                    size_t *pos, m6ike_ikev2_attr *out);
int m6ike_ikev2_ts_next(const m6ike_ikev2_ts_payload *tsp, size_t *pos,
                        m6ike_ikev2_ts *out);
int m6ike_ikev2_cp_next(const m6ike_ikev2_cp *cp, size_t *pos,
                        m6ike_ikev2_cp_attr *out);
/* SPI i (0-based, i < num_spi) of a Delete payload with spi_size 4. */
uint32_t m6ike_ikev2_delete_spi32(const m6ike_ikev2_delete *d, unsigned i);

/* Finds the first Notify of this type among msg's views (outer and
 * inner) and decodes it.  Returns its view index (>= 0),
 * M6IKE_ERR_NOT_FOUND, or decode_notify's codes. */
int m6ike_ikev2_find_notify(const m6ike_ikev2_msg *msg, uint16_t type,
                            m6ike_ikev2_notify *out);

/* ---------------------------------------------------------------------- */
/* RFC 4877 / RFC 4301 Mobility Header selectors                          */
/* ---------------------------------------------------------------------- */
/*
 * RFC 4301 §4.4.1.1 puts the MH type in the most significant octet of the
 * 16-bit local "port" selector (the low octet is unused); RFC 4877 uses
 * this in IKEv2 traffic selectors with IP protocol 135.  A selector for
 * one MH type t is start = t << 8, end = (t << 8) | 0xff; any MH type is
 * 0..65535 as for ports.
 */
/* Fills ts with an IPv6 selector for one address, protocol MH and one MH
 * type (e.g. 5 = BU, 6 = BA). */
void m6ike_ikev2_ts_set_mh(m6ike_ikev2_ts *ts, const m6ike_addr6 *addr,
                           uint8_t mh_type);
/* Sets the ports of ts to the range of MH type mh_type. */
void m6ike_ikev2_ts_mh_ports(m6ike_ikev2_ts *ts, uint8_t mh_type);
/* If ts is an MH selector naming exactly one MH type (protocol 135,
 * start and end with the same high octet, start low octet 0, end low
 * octet 0xff or 0), stores it in *mh_type and returns 1; else 0. */
int m6ike_ikev2_ts_get_mh(const m6ike_ikev2_ts *ts, uint8_t *mh_type);
/* Fills ts with an IPv6 range [start, end], ip_proto (0 any), ports. */
void m6ike_ikev2_ts_set6(m6ike_ikev2_ts *ts, const m6ike_addr6 *start,
                         const m6ike_addr6 *end, uint8_t ip_proto,
                         uint16_t start_port, uint16_t end_port);
/* Fills ts with an IPv6 prefix (plen 0..128) and any protocol/port. */
void m6ike_ikev2_ts_set_prefix6(m6ike_ikev2_ts *ts, const m6ike_addr6 *pfx,
                                unsigned plen);

/* ---------------------------------------------------------------------- */
/* Configuration attributes (RFC 7296 §3.15.1, RFC 5026 §4.2.1)           */
/* ---------------------------------------------------------------------- */
/* INTERNAL_IP6_ADDRESS value: 16-octet address + prefix length. */
void m6ike_ikev2_cp_encode_ip6(uint8_t out[17], const m6ike_addr6 *addr,
                               uint8_t plen);
/* Returns 0, or M6IKE_ERR_IKEV2_CP if a is not a 17-octet INTERNAL_IP6_
 * ADDRESS / INTERNAL_IP6_SUBNET. */
int m6ike_ikev2_cp_decode_ip6(const m6ike_ikev2_cp_attr *a, m6ike_addr6 *addr,
                              uint8_t *plen);
/* MIP6_HOME_PREFIX value (RFC 5026): prefix lifetime (32 bits, seconds),
 * home prefix (16 octets), prefix length (1 octet). */
void m6ike_ikev2_cp_encode_home_prefix(uint8_t out[21], uint32_t lifetime,
                                       const m6ike_addr6 *prefix,
                                       uint8_t plen);
int m6ike_ikev2_cp_decode_home_prefix(const m6ike_ikev2_cp_attr *a,
                                      uint32_t *lifetime,
                                      m6ike_addr6 *prefix, uint8_t *plen);

/* ---------------------------------------------------------------------- */
/* Exchange table                                                         */
/* ---------------------------------------------------------------------- */
/*
 * Checks msg's payload types against the exchange table of RFC 7296
 * (§1.2-§1.5, §1.3, §2.6, §2.16) and RFC 4555 for the exchange type and
 * direction (R flag).  Rules:
 *  - IKE_SA_INIT: no SK; request {SA, KE, Ni} (+ N, V, an optional leading
 *    COOKIE), response {SA, KE, Nr} (+ CERTREQ, N, V), or a response with
 *    only N/V carrying an error notify or COOKIE.  In every exchange the
 *    SA of a request must number its proposals from 1
 *    (M6IKE_ERR_IKEV2_PROPOSAL_NUM) and the SA of a response must carry
 *    exactly one proposal (M6IKE_ERR_IKEV2_PROPOSAL).
 *  - IKE_AUTH, CREATE_CHILD_SA, INFORMATIONAL: exactly one payload
 *    outside: SK (else M6IKE_ERR_IKEV2_NOT_ENCRYPTED).  The inner payloads
 *    are checked only once parse_inner ran; before that the function
 *    returns 1 ("outer part fine, inner pending").
 *  - IKE_AUTH request: IDi, [CERT+], [CERTREQ+], [IDr], [AUTH], [CP],
 *    [N+], [SA TSi TSr], [V+], [EAP]; one of the forms {IDi AUTH},
 *    {IDi} (EAP start), {EAP}, {AUTH}.  Response: {IDr AUTH} (+ CERT, CP,
 *    N, SA TSi TSr, V, EAP), {EAP}, {AUTH}, or error notify only.
 *    SA, TSi, TSr come all three or none.
 *  - CREATE_CHILD_SA: {SA Ni [KEi] TSi TSr} (CHILD_SA, N(REKEY_SA)
 *    optional) or {SA Ni KEi} (IKE SA rekey); response {SA Nr [KEr] TSi
 *    TSr} or {SA Nr KEr}, or error notify only.
 *  - INFORMATIONAL: any number of N, D, CP (empty = liveness check).
 * Unknown non-critical payloads are ignored; at most one of each of SA,
 * KE, Nonce, IDi, IDr, AUTH, TSi, TSr, CP, EAP.
 * Returns 0, 1 (see above), or M6IKE_ERR_IKEV2_UNKNOWN_EXCHANGE,
 * M6IKE_ERR_IKEV2_NOT_ENCRYPTED, M6IKE_ERR_IKEV2_PL_NOT_ALLOWED,
 * M6IKE_ERR_IKEV2_PL_MISSING, M6IKE_ERR_IKEV2_PL_REPEATED,
 * M6IKE_ERR_IKEV2_PROPOSAL_NUM (offer not numbered from 1) and
 * decode_sa's codes; msg->err_type names the payload type.
 */
int m6ike_ikev2_check_exchange(m6ike_ikev2_msg *msg);

/* 1 if a payload of this type may appear in (exchange, response?) — the
 * raw table lookup, inner payloads for encrypted exchanges. */
int m6ike_ikev2_exchange_allows(uint8_t exchange, int response, uint8_t type);

/*
 * The Notify type a responder sends for an error code of this unit
 * (RFC 7296 §2.21): INVALID_MAJOR_VERSION for MAJOR_VERSION,
 * UNSUPPORTED_CRITICAL_PAYLOAD for UNSUPPORTED_CRITICAL (the data is the
 * one-octet type, msg->err_type), INVALID_SYNTAX for every other decoding
 * or table error, and 0 (drop silently) for HDR_TRUNCATED,
 * MSG_TRUNCATED, MSG_LENGTH, UNKNOWN_EXCHANGE and non-decoding codes.
 */
uint16_t m6ike_ikev2_err_to_notify(int code);

/* ---------------------------------------------------------------------- */
/* Builder                                                                */
/* ---------------------------------------------------------------------- */
typedef struct m6ike_ikev2_builder {
  uint8_t *buf;
  size_t cap;
  size_t len;        /* octets written so far */
  size_t np_off;     /* where the next payload's type goes */
  size_t open_off;   /* open SA payload header, or SIZE_MAX */
  size_t prop_off;   /* open proposal, or SIZE_MAX */
  size_t xf_off;     /* open transform, or SIZE_MAX */
  size_t sk_off;     /* SK payload header, or SIZE_MAX */
  size_t sk_inner;   /* offset of the first inner payload */
  size_t sk_iv_len;
  uint8_t prop_num;  /* last proposal number written */
  uint8_t sk_state;  /* 0 none, 1 open, 2 closed */
  uint8_t finished;
  int err;           /* sticky first error, 0 = none */
} m6ike_ikev2_builder;

/*
 * Starts a message in buf (cap octets) with hdr (next_payload and length
 * are filled by the builder; major 0 means 2).  Returns 0 or
 * M6IKE_ERR_NOBUF (cap < 28), M6IKE_ERR_INVALID_ARGUMENT.
 */
int m6ike_ikev2_builder_begin(m6ike_ikev2_builder *b, uint8_t *buf,
                              size_t cap, const m6ike_ikev2_hdr *hdr);
/*
 * Completes the message: writes the header's Length (and Next Payload 0
 * for an empty message).  Returns the length, or the builder's sticky
 * error, or M6IKE_ERR_IKEV2_BUILDER_STATE (an SA or SK still open).
 */
int m6ike_ikev2_builder_finish(m6ike_ikev2_builder *b);

/*
 * All add_* return 0 or: M6IKE_ERR_NOBUF, M6IKE_ERR_IKEV2_TOO_LONG (a
 * payload over 65535 octets or a count over its field),
 * M6IKE_ERR_IKEV2_BUILDER_STATE (after sk_end or finish, or inside an open
 * SA), M6IKE_ERR_INVALID_ARGUMENT (NULL data with a length, wrong payload
 * type for add_id/add_ts).  Known payloads are sent with C = 0 and zero
 * reserved fields.
 */
/* Whole SA from specs.  first_num: number of the first proposal (1 in an
 * offer; the chosen proposal's number in a reply). */
typedef struct m6ike_ikev2_xform_spec {
  uint8_t type;
  uint16_t id;
  int32_t key_len; /* bits, or -1 for no Key Length attribute */
} m6ike_ikev2_xform_spec;
typedef struct m6ike_ikev2_prop_spec {
  uint8_t proto;
  uint8_t spi_size;
  const uint8_t *spi;
  size_t n_xf;
  const m6ike_ikev2_xform_spec *xf;
} m6ike_ikev2_prop_spec;
int m6ike_ikev2_add_sa(m6ike_ikev2_builder *b,
                       const m6ike_ikev2_prop_spec *props, size_t n,
                       uint8_t first_num);
/* Incremental SA: sa_begin, then per proposal sa_proposal and its
 * sa_transform calls (each optionally followed by sa_attr calls), then
 * sa_end.  num 0 = previous + 1 (1 for the first).  Transform counts,
 * Last Substruc markers and lengths are filled in. */
int m6ike_ikev2_sa_begin(m6ike_ikev2_builder *b);
int m6ike_ikev2_sa_proposal(m6ike_ikev2_builder *b, uint8_t num,
                            uint8_t proto, const uint8_t *spi,
                            uint8_t spi_size);
int m6ike_ikev2_sa_transform(m6ike_ikev2_builder *b, uint8_t type,
                             uint16_t id, int32_t key_len);
int m6ike_ikev2_sa_attr(m6ike_ikev2_builder *b, const m6ike_ikev2_attr *a);
int m6ike_ikev2_sa_end(m6ike_ikev2_builder *b);

int m6ike_ikev2_add_ke(m6ike_ikev2_builder *b, const m6ike_ikev2_ke *ke);
/* type: M6IKE_IKEV2_PL_IDI or M6IKE_IKEV2_PL_IDR */
int m6ike_ikev2_add_id(m6ike_ikev2_builder *b, uint8_t type,
                       const m6ike_ikev2_id *id);
int m6ike_ikev2_add_cert(m6ike_ikev2_builder *b, const m6ike_ikev2_cert *c);
int m6ike_ikev2_add_certreq(m6ike_ikev2_builder *b,
                            const m6ike_ikev2_cert *c);
int m6ike_ikev2_add_auth(m6ike_ikev2_builder *b, const m6ike_ikev2_auth *a);
int m6ike_ikev2_add_nonce(m6ike_ikev2_builder *b, const uint8_t *nonce,
                          size_t len);
/* Full Notify (proto, spi_size, type, spi, data, len; typed fields are
 * ignored). */
int m6ike_ikev2_add_notify(m6ike_ikev2_builder *b,
                           const m6ike_ikev2_notify *n);
/* Notify with Protocol ID 0 and no SPI. */
int m6ike_ikev2_add_notify_data(m6ike_ikev2_builder *b, uint16_t type,
                                const uint8_t *data, size_t len);
/* INVALID_KE_PAYLOAD naming the wanted group. */
int m6ike_ikev2_add_notify_invalid_ke(m6ike_ikev2_builder *b,
                                      uint16_t group);
/* REKEY_SA for the CHILD_SA (proto AH/ESP) with inbound SPI spi. */
int m6ike_ikev2_add_notify_rekey_sa(m6ike_ikev2_builder *b, uint8_t proto,
                                    uint32_t spi);
/* M6IKE_SA_ADDRESS_UPDATE (MPI + new CoA). */
int m6ike_ikev2_add_notify_m6ike_update(m6ike_ikev2_builder *b, uint32_t mpi,
                                        const m6ike_addr6 *coa);
int m6ike_ikev2_add_delete(m6ike_ikev2_builder *b,
                           const m6ike_ikev2_delete *d);
int m6ike_ikev2_add_vendor(m6ike_ikev2_builder *b, const uint8_t *vid,
                           size_t len);
/* type: M6IKE_IKEV2_PL_TSI or M6IKE_IKEV2_PL_TSR; n 1..255 selectors. */
int m6ike_ikev2_add_ts(m6ike_ikev2_builder *b, uint8_t type,
                       const m6ike_ikev2_ts *ts, size_t n);
int m6ike_ikev2_add_cp(m6ike_ikev2_builder *b, uint8_t cfg_type,
                       const m6ike_ikev2_cp_attr *attrs, size_t n);
/* EAP message as is (its own header included). */
int m6ike_ikev2_add_eap(m6ike_ikev2_builder *b, const uint8_t *eap,
                        size_t len);
/* Any payload with an opaque body and the given C bit (tests, unknown
 * payloads, passthrough). */
int m6ike_ikev2_add_raw(m6ike_ikev2_builder *b, uint8_t type, int critical,
                        const uint8_t *body, size_t len);

/*
 * Opens the SK payload: writes its generic header and reserves iv_len
 * octets (left zero) for the IV.  Later add_* calls go inside it.  Returns
 * the offset in buf of the first inner payload (the start of the
 * plaintext), or M6IKE_ERR_NOBUF, M6IKE_ERR_IKEV2_BUILDER_STATE (an SK
 * already opened, an SA open, or finished), M6IKE_ERR_IKEV2_TOO_LONG
 * (iv_len > 255).
 */
int m6ike_ikev2_sk_begin(m6ike_ikev2_builder *b, size_t iv_len);
/*
 * Closes the SK payload: appends zero padding and the Pad Length octet so
 * that the plaintext is a multiple of block_size (1..255; 1 for AEAD),
 * reserves icv_len octets (zero) for the ICV, sets the SK Payload Length,
 * and fills *out (offsets into buf; see THE ENCRYPTED PAYLOAD).  Returns 0
 * or M6IKE_ERR_NOBUF, M6IKE_ERR_IKEV2_BUILDER_STATE (no open SK),
 * M6IKE_ERR_INVALID_ARGUMENT (block_size 0 or > 255),
 * M6IKE_ERR_IKEV2_TOO_LONG.
 */
int m6ike_ikev2_sk_end(m6ike_ikev2_builder *b, size_t block_size,
                       size_t icv_len, m6ike_ikev2_sk_region *out);

/* ---------------------------------------------------------------------- */
/* Names and log lines                                                    */
/* ---------------------------------------------------------------------- */
/* "IKE_SA_INIT" ...; NULL if unknown. */
const char *m6ike_ikev2_exchange_name(uint8_t exchange);
/* "SA", "KE", "IDi", ... "SK", "CP", "EAP"; NULL if unknown. */
const char *m6ike_ikev2_payload_name(uint8_t type);
/* "NAT_DETECTION_SOURCE_IP", ... (IANA names); NULL if unknown. */
const char *m6ike_ikev2_notify_name(uint16_t type);
/* Short names used in log lines: "NAT_D_S", "MOBIKE_SUP", ...; falls back
 * to the IANA name; NULL if unknown. */
const char *m6ike_ikev2_notify_short_name(uint16_t type);

/*
 * One log line for a parsed message, e.g.
 *   "IKE_SA_INIT request mid=0 [SA KE Ni N(NAT_D_S) N(NAT_D_D)]"
 *   "IKE_AUTH response mid=1 [SK{IDr AUTH SA TSi TSr}]"   (inner parsed)
 *   "INFORMATIONAL request mid=2 [SK]"                    (not yet)
 * Nonce and KE are shown as Ni/Nr and KE; unknown notify types by number
 * (N(40000)); unknown payloads as "PL(<type>)".  Always NUL-terminates
 * when cap > 0; truncates to fit.  Returns buf.
 */
char *m6ike_ikev2_format(const m6ike_ikev2_msg *msg, char *buf, size_t cap);

/* Error text of this unit's codes; NULL for others (see units.c). */
const char *m6ike_ikev2_msg_strerror_(int code);

#ifdef __cplusplus
}
#endif

#endif /* M6IKE_IKEV2_MSG_H */
