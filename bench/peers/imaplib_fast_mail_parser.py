#!/usr/bin/env python3
"""The peer Mailroom's ingest is measured against: Python's imaplib fetching a whole INBOX and
fast-mail-parser parsing every message as its batch arrives, in one thread.

    imaplib_fast_mail_parser.py HOST PORT USER PASSWORD EXPECTED [BATCH]

Prints `messages seconds` and exits 1 when it did not see EXPECTED messages. It only fetches and parses;
it stores nothing, which is what makes it the floor a helpdesk's whole ingest is held to.
"""
import imaplib
import sys
import time

import fast_mail_parser


def ranges(uids):
    """UIDs as an IMAP sequence set of ranges: 1:100,104,107:110."""
    parts, start, last = [], None, None
    for uid in uids:
        if start is None:
            start = last = uid
        elif uid == last + 1:
            last = uid
        else:
            parts.append(f"{start}:{last}" if start != last else str(start))
            start = last = uid
    if start is not None:
        parts.append(f"{start}:{last}" if start != last else str(start))
    return ",".join(parts)


def main():
    host, port, user, password, expected = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
    batch = int(sys.argv[6]) if len(sys.argv) > 6 else 100
    began = time.perf_counter()
    imap = imaplib.IMAP4(host, port)
    imap.login(user, password)
    imap.select("INBOX", readonly=True)
    _, data = imap.uid("SEARCH", None, "ALL")
    uids = sorted(int(x) for x in data[0].split())
    parsed = 0
    for at in range(0, len(uids), batch):
        _, response = imap.uid("FETCH", ranges(uids[at:at + batch]), "(BODY.PEEK[])")
        for item in response:
            if isinstance(item, tuple):
                try:
                    fast_mail_parser.parse_email(item[1])
                except Exception:  # a malformed message counts as handled, as it does for Mailroom
                    pass
                parsed += 1
    imap.logout()
    seconds = time.perf_counter() - began
    print(parsed, f"{seconds:.3f}")
    return 0 if parsed == expected else 1


if __name__ == "__main__":
    sys.exit(main())
