from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image

from liveshop.core.config import Settings
from tests.catalog.helpers import make_product, make_shop


def image_bytes(kind: str = "JPEG", size: tuple[int, int] = (40, 30), exif: bool = False,
                mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, (200, 30, 90) if mode == "RGB" else 0)
    out = io.BytesIO()
    options: dict[str, Any] = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        options["exif"] = data.tobytes()
    image.save(out, format=kind, **options)
    return out.getvalue()


def upload(seller: Any, product_id: int, data: bytes, name: str = "x.jpg",
           content_type: str = "image/jpeg") -> Any:
    return seller.post(f"/api/v1/products/{product_id}/images",
                       files={"file": (name, data, content_type)}, data={"alt": "Front"})


def setup_product(make_user: Any) -> tuple[Any, int]:
    seller = make_user("seller")
    shop = make_shop(seller)
    return seller, make_product(seller, shop["id"])["id"]


def test_upload_stores_a_clean_copy_and_lists_it(make_user: Any, settings: Settings,
                                                 client: TestClient) -> None:
    seller, product_id = setup_product(make_user)
    # Declared as PNG, actually JPEG: the bytes decide.
    response = upload(seller, product_id, image_bytes(exif=True), name="photo.png",
                      content_type="image/png")
    assert response.status_code == 201, response.text
    image = response.json()
    assert (image["width"], image["height"], image["content_type"]) == (40, 30, "image/jpeg")
    assert image["url"].startswith(f"/media/products/{product_id}/")
    assert image["url"].endswith(".jpg") and image["alt"] == "Front"
    stored = settings.media_dir / image["url"].removeprefix("/media/")
    with Image.open(stored) as saved:
        assert not saved.getexif()
    assert b"SecretCam" not in stored.read_bytes()
    assert client.get(image["url"]).status_code == 200
    product = client.get(f"/api/v1/products/{product_id}?market=DE").json()
    assert [i["id"] for i in product["images"]] == [image["id"]]
    card = client.get("/api/v1/products?market=DE").json()["items"][0]
    assert card["image_url"] == image["url"]

    png = upload(seller, product_id, image_bytes("PNG"), name="a", content_type="text/plain")
    webp = upload(seller, product_id, image_bytes("WEBP"), name="b.webp")
    assert png.json()["content_type"] == "image/png"
    assert webp.json()["content_type"] == "image/webp"

    deleted = seller.delete(f"/api/v1/products/{product_id}/images/{image['id']}")
    assert deleted.status_code == 204 and not stored.exists()
    again = seller.delete(f"/api/v1/products/{product_id}/images/{image['id']}")
    assert again.status_code == 404


def refused(response: Any, status: int = 422) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["field"] == "file"


def test_bad_uploads_are_refused_naming_the_file_field(make_user: Any,
                                                       settings: Settings) -> None:
    seller, product_id = setup_product(make_user)
    refused(upload(seller, product_id, b"hello, not an image", name="x.png",
                   content_type="image/png"))
    refused(upload(seller, product_id, image_bytes("GIF"), name="x.gif"))
    refused(upload(seller, product_id, b""))
    truncated = image_bytes(size=(300, 300))
    refused(upload(seller, product_id, truncated[: len(truncated) // 2]))
    refused(upload(seller, product_id, b"\0" * (settings.max_upload_bytes + 1)), status=413)
    # 8000 x 6000 = 48 megapixels, yet a tiny file: refused before decoding.
    bomb = image_bytes("PNG", size=(8000, 6000), mode="1")
    assert len(bomb) < settings.max_upload_bytes
    refused(upload(seller, product_id, bomb, name="bomb.png"))
    missing = seller.post(f"/api/v1/products/{product_id}/images", data={"alt": "x"})
    refused(missing)
    product_dir = Path(settings.media_dir) / "products" / str(product_id)
    assert not product_dir.exists() or not any(product_dir.iterdir())


def test_only_the_owner_uploads(make_user: Any) -> None:
    _, product_id = setup_product(make_user)
    other = make_user("seller")
    assert upload(other, product_id, image_bytes()).status_code == 403
