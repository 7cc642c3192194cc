"""Calls the bridge's SOAP web services with zeep, as a real SOAP client.

Usage: zeep_client.py WSDL_URL TOKEN CENTER_LID

Loads the WSDL, calls listThings (a list), listThings with no result,
getDoc (one record with a Binary field) and getDoc for a missing
download (a Client fault), and prints what it got as one JSON object
for the Go test (TestZeep) to check.
"""
import base64
import json
import sys

import requests
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport


def main():
    wsdl, token, center = sys.argv[1:4]
    session = requests.Session()
    session.trust_env = False  # no proxy between the test and its server
    session.headers["Authorization"] = "Bearer " + token
    client = Client(wsdl, transport=Transport(session=session, timeout=20),
                    settings=Settings(strict=True))
    out = {"operations": sorted(
        op for service in client.wsdl.services.values()
        for port in service.ports.values()
        for op in port.binding._operations)}

    things = client.service.listThings(CENTER_LID=center, FROM_DAY="01/02/2026", NAME="ab")
    out["list"] = [{k: t[k] for k in ("THING_LID", "THING_NAME", "CENTER") if t[k] is not None}
                   for t in (things or [])]
    none = client.service.listThings(CENTER_LID=center, FROM_DAY="none")
    out["empty"] = len(none or [])

    doc = client.service.getDoc(CENTER_LID=center, DOWNLOAD_LID="d1")
    out["single"] = {
        "DOWNLOAD_LID": doc["DOWNLOAD_LID"],
        "DOWNLOAD_CONTENT_B64": base64.b64encode(doc["DOWNLOAD_CONTENT"]).decode("ascii"),
        "NOTE": doc["NOTE"],
    }

    try:
        client.service.getDoc(CENTER_LID=center, DOWNLOAD_LID="missing")
        out["fault"] = None
    except Fault as f:
        out["fault"] = {"code": str(f.code), "message": f.message}

    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
