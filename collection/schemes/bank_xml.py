"""Reading an ISO 20022 document a bank sent: safely, and only the kind we expect.

pain.002 status reports and camt.054 notifications come from outside the hub. No entity
expansion, no DTD loading, no network; a DOCTYPE or an XInclude is refused outright
rather than ignored, so that nothing a later tool does with the file can resolve them.
"""

from __future__ import annotations

from lxml import etree

XINCLUDE_TAGS = ("{http://www.w3.org/2001/XInclude}*", "{http://www.w3.org/2003/XInclude}*")


def parse_bank_document(data: bytes | str, *, namespace_prefix: str, kind: str, error):
    """The root ``Document`` element; ``error(position, reason)`` builds what is raised."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise error(f"line {exc.lineno}", f"not well-formed XML: {exc.msg}") from None
    if root.getroottree().docinfo.doctype:
        raise error("Document", "DOCTYPE declarations are not accepted")
    if next(root.iter(*XINCLUDE_TAGS), None) is not None:
        raise error("Document", "XInclude is not accepted")
    qname = etree.QName(root)
    if qname.localname != "Document" or not (qname.namespace or "").startswith(namespace_prefix):
        raise error("Document", f"not a {kind} document (root {root.tag!r})")
    return root
