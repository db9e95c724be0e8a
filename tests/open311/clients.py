"""Open311 GeoReport v2 through a real client library (issue 24).

Runs the Python client `georeport` (PyPI, 0.3.1) against a running bihuan server in both of
its formats, and posts a request form-encoded the way an application would. `three` (PyPI,
0.8.0) is Python 2 only (it imports itertools.ifilter) and cannot run here.

    python3 tests/open311/clients.py http://127.0.0.1:8080 <api_key>

Exits non-zero with the first mismatch.
"""

import sys

import requests
from georeport import GeoReport


def main(base: str, key: str) -> None:
    root = base.rstrip("/") + "/open311/v2"
    posted = requests.post(
        root + "/requests.json",
        data={
            "api_key": key,
            "service_code": None,
            "lat": "29.861",
            "long": "119.538",
            "description": "客户端测试：小区门口的井盖松动，车辆经过有响声。",
            "phone": "13900001111",
        },
        timeout=30,
    )
    # service_code left out on purpose: the protocol's error list names it.
    assert posted.status_code == 400, posted.text
    assert "service_code" in posted.json()[0]["description"], posted.text

    for fmt in ("json", "xml"):
        client = GeoReport(root, output_format=fmt)
        services = client.get_service_list()
        assert len(services) > 10, services
        code = services[-1]["service_code"]
        definition = client.get_service_definition(code)
        assert definition["service_code"] == code, definition
        attributes = definition["attributes"]
        if fmt == "xml":
            attributes = attributes["attribute"]
        assert any(a["code"] == "kind" for a in attributes), attributes

        made = requests.post(
            root + f"/requests.{fmt}",
            data={
                "api_key": key,
                "service_code": code,
                "lat": "29.861",
                "long": "119.538",
                "description": f"客户端测试（{fmt}）：小区门口的井盖松动，车辆经过有响声。",
                "phone": "13900001111",
                "attribute[kind]": "help",
            },
            timeout=30,
        )
        assert made.status_code == 201, made.text
        if fmt == "json":
            number = made.json()[0]["service_request_id"]
        else:
            number = made.text.split("<service_request_id>")[1].split("<")[0]
        one = client.get_service_request(number)
        assert one["service_request_id"] == number, one
        assert one["status"] == "open", one
        assert "13900001111" not in str(one), one
        listed = client.get_service_requests(status="open", service_code=code)
        if isinstance(listed, dict):
            listed = [listed]
        assert any(r["service_request_id"] == number for r in listed), listed
        print(f"georeport {fmt}: {len(services)} services, request {number} posted and read back")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
