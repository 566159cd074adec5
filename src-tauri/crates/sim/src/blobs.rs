//! Small but real documents (PDF and JPEG) for the simulated document stores, so a client
//! that downloads, checks and opens them meets genuine files.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

/// A one-page A4 PDF with a title and a few lines of text in Helvetica.
pub fn pdf(title: &str, lines: &[String]) -> Vec<u8> {
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let page_id = Ref::new(3);
    let font = Ref::new(4);
    let contents = Ref::new(5);
    let font_name = Name(b"F1");

    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, 595.0, 842.0));
    page.parent(tree);
    page.contents(contents);
    page.resources().fonts().pair(font_name, font);
    page.finish();
    pdf.type1_font(font).base_font(Name(b"Helvetica"));

    let mut content = Content::new();
    content.begin_text();
    content.set_font(font_name, 18.0);
    content.next_line(72.0, 760.0);
    content.show(Str(latin(title).as_bytes()));
    content.set_font(font_name, 11.0);
    for line in lines {
        content.next_line(0.0, -20.0);
        content.show(Str(latin(line).as_bytes()));
    }
    content.end_text();
    pdf.stream(contents, &content.finish());
    pdf.finish()
}

/// The standard PDF fonts speak Latin-1 at best; anything else becomes `?`.
fn latin(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// A small baseline JPEG (a colour gradient that differs by `seed`), like a phone photo of a
/// document shrunk to a thumbnail.
pub fn jpeg(seed: u64, width: u16, height: u16) -> Vec<u8> {
    let (w, h) = (usize::from(width), usize::from(height));
    let tint = (seed % 200) as usize;
    let mut rgb = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            rgb.push(((x * 255) / w.max(1)) as u8);
            rgb.push(((y * 255) / h.max(1)) as u8);
            rgb.push(((tint + x + y) % 256) as u8);
        }
    }
    let mut out = Vec::new();
    let encoder = jpeg_encoder::Encoder::new(&mut out, 80);
    encoder
        .encode(&rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .expect("a buffer of the stated size always encodes");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_has_header_trailer_and_text() {
        let b = pdf("Birth certificate", &["Alice Smith".into()]);
        assert!(b.starts_with(b"%PDF-"));
        let tail = String::from_utf8_lossy(&b[b.len() - 32..]).to_string();
        assert!(tail.contains("%%EOF"), "{tail}");
        assert!(b.windows(11).any(|w| w == b"Alice Smith"));
    }

    #[test]
    fn jpeg_has_markers() {
        let b = jpeg(3, 32, 24);
        assert_eq!(&b[..3], &[0xFF, 0xD8, 0xFF]);
        assert_eq!(&b[b.len() - 2..], &[0xFF, 0xD9]);
    }
}
