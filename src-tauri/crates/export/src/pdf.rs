//! A document as a PDF, laid out in Rust with no outside program: A4 or US Letter, the school,
//! title and "data as of" time on every page, "Page N of M", each table on new pages with its
//! header row repeated, rows never split, totals set apart.
//!
//! Text is real text (a printer, a screen reader and `pdftotext` all read names back), set in a
//! font found on the computer — nothing is downloaded and no font ships with Schooldesk. Names
//! in any script come out right: each cell is split into directional runs (Unicode bidi), each
//! run into pieces one font covers (fallback across the installed fonts), and each piece is
//! shaped (Arabic letters join, accents sit on their letters) before krilla writes the glyphs
//! with the text they stand for.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::{Arc, OnceLock};

use chrono::{DateTime, Utc};
use krilla::color::luma;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::text::{GlyphId, KrillaGlyph};
use unicode_bidi::BidiInfo;

use crate::error::ExportError;
use crate::model::{Cell, ColumnKind, Document, Paper, Table};

/// `doc` as the bytes of a PDF on `paper`.
///
/// Deterministic: the only times in the file are the ones in the document, so the same
/// document gives the same bytes.
pub fn render(doc: &Document, paper: Paper) -> Result<Vec<u8>, ExportError> {
    let texts = Texts::new(doc);
    let fonts = FontSet::load(&texts.all_chars(doc))?;
    let shaper = Shaper::new(&fonts)?;
    let plan = plan(doc, &shaper, &texts, paper);
    draw(doc, &shaper, &texts, &plan)
}

// ---------------------------------------------------------------------------------------------
// Page geometry and type sizes (points; 72 pt = 1 inch).

const MARGIN: f32 = 36.0;
const BODY_SIZE: f32 = 9.0;
/// Below this a register is hard to read on paper; past it, cells are cut short with "…".
const MIN_BODY_SIZE: f32 = 6.5;
const SCHOOL_SIZE: f32 = 9.0;
const TITLE_SIZE: f32 = 14.0;
const SMALL_SIZE: f32 = 8.0;
const HEADING_SIZE: f32 = 11.0;
const CELL_PAD: f32 = 3.5;
/// Row height as a multiple of the body size.
const ROW_LEADING: f32 = 1.7;
/// Tables wider than this many columns go landscape even if they would squeeze into portrait:
/// a register's day columns are easier to read with room to breathe.
const LANDSCAPE_COLUMNS: usize = 10;
const ELLIPSIS: &str = "…";

fn paper_size(paper: Paper) -> (f32, f32) {
    match paper {
        // 210 × 297 mm.
        Paper::A4 => (595.2756, 841.8898),
        Paper::Letter => (612.0, 792.0),
    }
}

/// The fixed lines of every page, formatted once.
struct Texts {
    data_as_of: String,
    generated: String,
    no_rows: String,
    no_tables: String,
}

impl Texts {
    fn new(doc: &Document) -> Texts {
        let data_as_of = match doc.data_as_of {
            Some(t) => format!("Data as of {}", when(t)),
            None => "Data as of: not yet synced".to_string(),
        };
        Texts {
            data_as_of,
            generated: format!("Generated {}", when(doc.generated_at)),
            no_rows: "Nothing to list.".to_string(),
            no_tables: "This document has no tables.".to_string(),
        }
    }

    /// Every character the PDF may draw, so the fonts can be chosen once up front.
    fn all_chars(&self, doc: &Document) -> BTreeSet<char> {
        let mut chars: BTreeSet<char> = BTreeSet::new();
        let mut add = |s: &str| chars.extend(s.chars());
        add(&doc.school);
        add(&doc.title);
        if let Some(s) = &doc.subtitle {
            add(s);
        }
        add(&self.data_as_of);
        add(&self.generated);
        add(&self.no_rows);
        add(&self.no_tables);
        add("Page 0123456789 of (continued)");
        add(ELLIPSIS);
        for table in &doc.tables {
            add(&table.name);
            for column in &table.columns {
                add(&column.title);
            }
            for row in table.rows.iter().chain(&table.totals) {
                for cell in row {
                    match cell {
                        Cell::Text(s) => add(s),
                        Cell::Empty => {}
                        other => add(&other.display()),
                    }
                }
            }
        }
        chars
    }
}

/// A time as printed: unambiguous on both sides of the Atlantic.
fn when(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y, %H:%M UTC").to_string()
}

// ---------------------------------------------------------------------------------------------
// Fonts.

/// Preferred sans-serif families, first found wins: Linux (DejaVu from fonts-dejavu-core,
/// Noto, Liberation), Windows (Segoe UI, Arial), macOS (Helvetica, Arial).
const PRIMARY_FAMILIES: &[&str] = &[
    "DejaVu Sans",
    "Noto Sans",
    "Segoe UI",
    "Arial",
    "Helvetica Neue",
    "Helvetica",
    "Liberation Sans",
    "Arimo",
    "Verdana",
    "Tahoma",
];

/// Where to look for characters the main font lacks, before trying every installed font.
const FALLBACK_FAMILIES: &[&str] = &[
    "DejaVu Sans",
    "Noto Sans",
    "Noto Sans Arabic",
    "Noto Naskh Arabic",
    "Noto Sans Hebrew",
    "Geeza Pro",
    "Arial Hebrew",
    "Arial",
    "Segoe UI",
    "Tahoma",
    "Arial Unicode MS",
    "Noto Sans Devanagari",
    "Nirmala UI",
    "Noto Sans Thai",
    "Leelawadee UI",
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans",
    "Malgun Gothic",
    "Segoe UI Symbol",
    "Noto Sans Symbols",
    "Noto Sans Symbols2",
];

/// The computer's fonts, scanned once per process (it reads every font file's name table).
fn font_db() -> &'static fontdb::Database {
    static DB: OnceLock<fontdb::Database> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        db
    })
}

/// The fonts one document uses and which of them draws each character.
struct FontSet {
    data: Vec<(Arc<Vec<u8>>, u32)>,
    regular: usize,
    bold: usize,
    /// For each character the regular font lacks, the font that has it.
    fallback: HashMap<char, usize>,
    /// The characters the bold font lacks (drawn from the regular chain instead).
    bold_missing: BTreeSet<char>,
}

impl FontSet {
    fn load(chars: &BTreeSet<char>) -> Result<FontSet, ExportError> {
        let db = font_db();
        let mut set = FontSet {
            data: Vec::new(),
            regular: 0,
            bold: 0,
            fallback: HashMap::new(),
            bold_missing: BTreeSet::new(),
        };
        let mut loaded: HashMap<fontdb::ID, usize> = HashMap::new();
        let mut load = |set: &mut FontSet, id: fontdb::ID| -> Option<usize> {
            if let Some(&i) = loaded.get(&id) {
                return Some(i);
            }
            let (bytes, index) = db.with_face_data(id, |data, index| (data.to_vec(), index))?;
            // A font we cannot shape with is no font at all.
            rustybuzz::Face::from_slice(&bytes, index)?;
            set.data.push((Arc::new(bytes), index));
            loaded.insert(id, set.data.len() - 1);
            Some(set.data.len() - 1)
        };

        let regular_id = query(db, PRIMARY_FAMILIES, fontdb::Weight::NORMAL)
            .or_else(|| any_latin_face(db))
            .ok_or_else(no_font)?;
        set.regular = load(&mut set, regular_id).ok_or_else(no_font)?;
        set.bold = query(db, PRIMARY_FAMILIES, fontdb::Weight::BOLD)
            .and_then(|id| load(&mut set, id))
            .unwrap_or(set.regular);

        let needed: Vec<char> = chars.iter().copied().filter(|&c| needs_glyph(c)).collect();
        let mut missing: BTreeSet<char> = needed
            .iter()
            .copied()
            .filter(|&c| !set.covers(set.regular, c))
            .collect();
        set.bold_missing = needed
            .iter()
            .copied()
            .filter(|&c| !set.covers(set.bold, c))
            .collect();

        // The named fallbacks first, in order, then every other installed font (sorted, so the
        // choice does not depend on the order the disk lists them in).
        let mut candidates: Vec<fontdb::ID> = Vec::new();
        if !missing.is_empty() {
            for family in FALLBACK_FAMILIES {
                if let Some(id) = query(db, &[family], fontdb::Weight::NORMAL) {
                    candidates.push(id);
                }
            }
            let mut rest: Vec<&fontdb::FaceInfo> = db.faces().collect();
            rest.sort_by(|a, b| {
                (
                    a.style != fontdb::Style::Normal,
                    a.weight.0.abs_diff(400),
                    &a.post_script_name,
                )
                    .cmp(&(
                        b.style != fontdb::Style::Normal,
                        b.weight.0.abs_diff(400),
                        &b.post_script_name,
                    ))
            });
            candidates.extend(rest.into_iter().map(|f| f.id));
        }
        for id in candidates {
            if missing.is_empty() {
                break;
            }
            let covered: Vec<char> = db
                .with_face_data(id, |data, index| {
                    let face = rustybuzz::ttf_parser::Face::parse(data, index).ok()?;
                    Some(
                        missing
                            .iter()
                            .copied()
                            .filter(|&c| face.glyph_index(c).is_some())
                            .collect::<Vec<char>>(),
                    )
                })
                .flatten()
                .unwrap_or_default();
            if covered.is_empty() {
                continue;
            }
            let Some(i) = load(&mut set, id) else {
                continue;
            };
            for c in covered {
                missing.remove(&c);
                set.fallback.insert(c, i);
            }
        }
        // Whatever is still missing is drawn with the main font's "missing glyph" box: the rest
        // of the document is still worth printing.
        Ok(set)
    }

    fn covers(&self, font: usize, c: char) -> bool {
        let (data, index) = &self.data[font];
        rustybuzz::ttf_parser::Face::parse(data, *index)
            .map(|f| f.glyph_index(c).is_some())
            .unwrap_or(false)
    }

    /// The font to draw `c` with.
    fn font_for(&self, c: char, bold: bool) -> usize {
        if bold && !self.bold_missing.contains(&c) {
            return self.bold;
        }
        self.fallback.get(&c).copied().unwrap_or(self.regular)
    }
}

fn query(db: &fontdb::Database, families: &[&str], weight: fontdb::Weight) -> Option<fontdb::ID> {
    let families: Vec<fontdb::Family> = families.iter().map(|f| fontdb::Family::Name(f)).collect();
    db.query(&fontdb::Query {
        families: &families,
        weight,
        stretch: fontdb::Stretch::Normal,
        style: fontdb::Style::Normal,
    })
}

/// Any upright font with Latin letters, for a computer with none of the usual families.
fn any_latin_face(db: &fontdb::Database) -> Option<fontdb::ID> {
    let mut faces: Vec<&fontdb::FaceInfo> = db
        .faces()
        .filter(|f| f.style == fontdb::Style::Normal)
        .collect();
    faces.sort_by(|a, b| a.post_script_name.cmp(&b.post_script_name));
    faces.into_iter().map(|f| f.id).find(|&id| {
        db.with_face_data(id, |data, index| {
            rustybuzz::ttf_parser::Face::parse(data, index)
                .map(|f| "Aa0".chars().all(|c| f.glyph_index(c).is_some()))
                .unwrap_or(false)
        })
        .unwrap_or(false)
    })
}

fn no_font() -> ExportError {
    ExportError::Render {
        format: "PDF",
        detail: "no usable font is installed on this computer (install DejaVu Sans or Noto Sans, \
                 or ask your IT support)"
            .to_string(),
    }
}

/// Whether `c` is drawn (rather than being a space or an invisible control).
fn needs_glyph(c: char) -> bool {
    !(c.is_whitespace() || c.is_control() || is_invisible(c))
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// Combining marks (accents, Hebrew points, Arabic vowel signs) stay in their letter's font.
fn is_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05C7}'
        | '\u{0610}'..='\u{061A}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE00}'..='\u{FE0F}'
        | '\u{FE20}'..='\u{FE2F}')
}

// ---------------------------------------------------------------------------------------------
// Shaping.

/// One font's glyphs for one piece of text, ready to draw.
struct Piece {
    font: usize,
    text: String,
    glyphs: Vec<KrillaGlyph>,
}

/// A line of text in visual order; widths are in ems (multiply by the font size).
struct Line {
    pieces: Vec<Piece>,
    width: f32,
}

struct Shaper<'a> {
    fonts: &'a FontSet,
    faces: Vec<rustybuzz::Face<'a>>,
    krilla: Vec<krilla::text::Font>,
}

impl<'a> Shaper<'a> {
    fn new(fonts: &'a FontSet) -> Result<Shaper<'a>, ExportError> {
        let mut faces = Vec::new();
        let mut krilla_fonts = Vec::new();
        for (data, index) in &fonts.data {
            faces.push(rustybuzz::Face::from_slice(data, *index).ok_or_else(no_font)?);
            let data: krilla::Data = data.clone().into();
            krilla_fonts.push(krilla::text::Font::new(data, *index).ok_or_else(no_font)?);
        }
        Ok(Shaper {
            fonts,
            faces,
            krilla: krilla_fonts,
        })
    }

    /// `text` on one line: runs in visual order, each run in the fonts that cover it.
    fn shape(&self, text: &str, bold: bool) -> Line {
        // A cell is printed on one line; line breaks and tabs inside it become spaces.
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let mut pieces = Vec::new();
        if !text.is_empty() {
            let bidi = BidiInfo::new(&text, None);
            for para in &bidi.paragraphs {
                let (levels, runs) = bidi.visual_runs(para, para.range.clone());
                for run in runs {
                    let rtl = levels[run.start].is_rtl();
                    let mut run_pieces: Vec<Piece> = self
                        .segments(&text[run.clone()], bold)
                        .into_iter()
                        .map(|(font, range)| {
                            self.shape_piece(
                                font,
                                &text[run.start + range.start..run.start + range.end],
                                rtl,
                            )
                        })
                        .collect();
                    if rtl {
                        run_pieces.reverse();
                    }
                    pieces.extend(run_pieces);
                }
            }
        }
        let width = pieces
            .iter()
            .flat_map(|p| &p.glyphs)
            .map(|g| g.x_advance)
            .sum();
        Line { pieces, width }
    }

    /// Splits `text` (one directional run) into byte ranges each drawn with one font.
    fn segments(&self, text: &str, bold: bool) -> Vec<(usize, Range<usize>)> {
        let mut out: Vec<(usize, Range<usize>)> = Vec::new();
        for (i, c) in text.char_indices() {
            let end = i + c.len_utf8();
            if let Some((font, range)) = out.last_mut() {
                let stays = !needs_glyph(c) || (is_mark(c) && self.fonts.covers(*font, c));
                if stays || self.fonts.font_for(c, bold) == *font {
                    range.end = end;
                    continue;
                }
            }
            let font = if needs_glyph(c) {
                self.fonts.font_for(c, bold)
            } else if bold {
                self.fonts.bold
            } else {
                self.fonts.regular
            };
            out.push((font, i..end));
        }
        out
    }

    fn shape_piece(&self, font: usize, text: &str, rtl: bool) -> Piece {
        let face = &self.faces[font];
        let mut buffer = rustybuzz::UnicodeBuffer::new();
        buffer.push_str(text);
        buffer.set_direction(if rtl {
            rustybuzz::Direction::RightToLeft
        } else {
            rustybuzz::Direction::LeftToRight
        });
        buffer.guess_segment_properties();
        let output = rustybuzz::shape(face, &[], buffer);
        let upem = face.units_per_em() as f32;
        let infos = output.glyph_infos();
        let positions = output.glyph_positions();

        // Each glyph carries the slice of text it stands for, so the PDF's text layer reads
        // back as the name that was typed. Clusters ascend left to right in LTR output and
        // descend in RTL output.
        let mut starts: Vec<usize> = infos.iter().map(|i| i.cluster as usize).collect();
        starts.sort_unstable();
        starts.dedup();
        let cluster_end = |start: usize| -> usize {
            match starts.binary_search(&start) {
                Ok(k) => starts.get(k + 1).copied().unwrap_or(text.len()),
                Err(_) => text.len(),
            }
        };
        let glyphs = infos
            .iter()
            .zip(positions)
            .map(|(info, pos)| {
                let start = info.cluster as usize;
                KrillaGlyph::new(
                    GlyphId::new(info.glyph_id),
                    pos.x_advance as f32 / upem,
                    pos.x_offset as f32 / upem,
                    pos.y_offset as f32 / upem,
                    pos.y_advance as f32 / upem,
                    start..cluster_end(start),
                    None,
                )
            })
            .collect();
        Piece {
            font,
            text: text.to_string(),
            glyphs,
        }
    }

    /// `text` shaped and, if wider than `max` points at `size`, cut short with "…".
    fn fit(&self, text: &str, bold: bool, size: f32, max: f32) -> Line {
        let line = self.shape(text, bold);
        if line.width * size <= max {
            return line;
        }
        let bounds: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let cut = |k: usize| -> Line {
            self.shape(&format!("{}{ELLIPSIS}", text[..bounds[k]].trim_end()), bold)
        };
        // The longest prefix that fits with the ellipsis (binary search over characters).
        let (mut lo, mut hi) = (0usize, bounds.len().saturating_sub(1));
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if cut(mid).width * size <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        cut(lo)
    }
}

// ---------------------------------------------------------------------------------------------
// Layout.

#[derive(Clone, Copy, PartialEq)]
enum Align {
    Left,
    Right,
    Center,
}

/// How one table is set: page size, type size and column widths.
struct TableLayout {
    page: (f32, f32),
    size: f32,
    widths: Vec<f32>,
}

/// One page: a slice of one table's rows and totals (or the note for a document without
/// tables).
struct PagePlan {
    table: Option<usize>,
    continued: bool,
    rows: Range<usize>,
    totals: Range<usize>,
}

struct Plan {
    layouts: Vec<TableLayout>,
    pages: Vec<PagePlan>,
    portrait: (f32, f32),
}

/// The page furniture above the table: school, title, subtitle, rule.
fn header_height(doc: &Document) -> f32 {
    let subtitle = if doc.subtitle.is_some() {
        SMALL_SIZE * 1.5
    } else {
        0.0
    };
    SCHOOL_SIZE * 1.6 + TITLE_SIZE * 1.4 + subtitle + 8.0
}

const FOOTER_HEIGHT: f32 = 20.0;
const HEADING_HEIGHT: f32 = HEADING_SIZE * 1.9;
const TOTALS_GAP: f32 = 4.0;

fn plan(doc: &Document, shaper: &Shaper, _texts: &Texts, paper: Paper) -> Plan {
    let portrait = paper_size(paper);
    let landscape = (portrait.1, portrait.0);
    let mut layouts = Vec::new();
    let mut pages = Vec::new();
    for (ti, table) in doc.tables.iter().enumerate() {
        let layout = layout_table(table, shaper, portrait, landscape);
        let row_h = layout.size * ROW_LEADING;
        let top = MARGIN + header_height(doc) + HEADING_HEIGHT + row_h;
        let bottom = layout.page.1 - MARGIN - FOOTER_HEIGHT;
        // At least one row a page, however small the paper.
        let per_page = (((bottom - top) / row_h).floor() as usize).max(1);

        let mut rows_left = 0..table.rows.len();
        let mut continued = false;
        loop {
            let take = rows_left.len().min(per_page);
            let rows = rows_left.start..rows_left.start + take;
            rows_left.start += take;
            let room = per_page - take;
            // Totals come on the page of the last rows if they all fit there; otherwise on a
            // page of their own (split only if longer than a page).
            let totals_fit = rows_left.is_empty()
                && (table.totals.is_empty()
                    || (room as f32 * row_h >= table.totals.len() as f32 * row_h + TOTALS_GAP));
            if rows_left.is_empty() && totals_fit {
                pages.push(PagePlan {
                    table: Some(ti),
                    continued,
                    rows,
                    totals: 0..table.totals.len(),
                });
                break;
            }
            pages.push(PagePlan {
                table: Some(ti),
                continued,
                rows,
                totals: 0..0,
            });
            continued = true;
            if rows_left.is_empty() {
                let per_page_totals =
                    (((bottom - top - TOTALS_GAP) / row_h).floor() as usize).max(1);
                let mut t = 0;
                while t < table.totals.len() {
                    let n = (table.totals.len() - t).min(per_page_totals);
                    pages.push(PagePlan {
                        table: Some(ti),
                        continued: true,
                        rows: 0..0,
                        totals: t..t + n,
                    });
                    t += n;
                }
                break;
            }
        }
        layouts.push(layout);
    }
    if pages.is_empty() {
        pages.push(PagePlan {
            table: None,
            continued: false,
            rows: 0..0,
            totals: 0..0,
        });
    }
    Plan {
        layouts,
        pages,
        portrait,
    }
}

/// Widths from the content: portrait if it fits, landscape if not (or if the table has many
/// columns), then a smaller type size, and only then cells cut short.
fn layout_table(
    table: &Table,
    shaper: &Shaper,
    portrait: (f32, f32),
    landscape: (f32, f32),
) -> TableLayout {
    // Natural widths in ems: the widest header or cell of each column.
    let mut natural: Vec<f32> = table
        .columns
        .iter()
        .map(|c| shaper.shape(&c.title, true).width)
        .collect();
    for row in &table.rows {
        for (i, cell) in row.iter().enumerate().take(natural.len()) {
            natural[i] = natural[i].max(shaper.shape(&cell.display(), false).width);
        }
    }
    for row in &table.totals {
        for (i, cell) in row.iter().enumerate().take(natural.len()) {
            natural[i] = natural[i].max(shaper.shape(&cell.display(), true).width);
        }
    }
    let needed = |size: f32| -> f32 { natural.iter().map(|w| w * size + 2.0 * CELL_PAD).sum() };
    let usable = |page: (f32, f32)| page.0 - 2.0 * MARGIN;

    let (page, size) =
        if table.columns.len() <= LANDSCAPE_COLUMNS && needed(BODY_SIZE) <= usable(portrait) {
            (portrait, BODY_SIZE)
        } else {
            let mut size = BODY_SIZE;
            while size > MIN_BODY_SIZE && needed(size) > usable(landscape) {
                size = (size - 0.5).max(MIN_BODY_SIZE);
            }
            (landscape, size)
        };

    let avail = usable(page);
    let mut widths: Vec<f32> = natural.iter().map(|w| w * size + 2.0 * CELL_PAD).collect();
    let total: f32 = widths.iter().sum();
    if total > avail {
        // Still too wide at the smallest type: narrow columns keep their width, the widest
        // share what is left equally ("water filling"), and their longest cells get "…".
        let mut cap = avail / widths.len().max(1) as f32;
        loop {
            let (narrow, wide): (Vec<f32>, Vec<f32>) = widths.iter().partition(|&&w| w <= cap);
            let rest = avail - narrow.iter().sum::<f32>();
            let next = rest / wide.len().max(1) as f32;
            if wide.is_empty() || (next - cap).abs() < 0.01 {
                break;
            }
            cap = next;
        }
        for w in &mut widths {
            *w = w.min(cap);
        }
    } else if !widths.is_empty() {
        // Spare width goes to the text columns (names read better with room), else to all.
        let spare = avail - total;
        let text_cols: Vec<usize> = table
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.kind == ColumnKind::Text)
            .map(|(i, _)| i)
            .collect();
        let targets: Vec<usize> = if text_cols.is_empty() {
            (0..widths.len()).collect()
        } else {
            text_cols
        };
        let base: f32 = targets.iter().map(|&i| widths[i]).sum();
        for &i in &targets {
            widths[i] += spare * widths[i] / base.max(0.01);
        }
    }
    TableLayout { page, size, widths }
}

fn align(kind: ColumnKind, cell: &Cell) -> Align {
    match (kind, cell) {
        (ColumnKind::Number, _) | (_, Cell::Number(_)) => Align::Right,
        (ColumnKind::Code, _) => Align::Center,
        _ => Align::Left,
    }
}

// ---------------------------------------------------------------------------------------------
// Drawing.

const BLACK: u8 = 0;
const GREY_TEXT: u8 = 80;
const HEADER_FILL: u8 = 225;
const ZEBRA_FILL: u8 = 244;
const TOTALS_FILL: u8 = 232;
const RULE: u8 = 120;

fn draw(
    doc: &Document,
    shaper: &Shaper,
    texts: &Texts,
    plan: &Plan,
) -> Result<Vec<u8>, ExportError> {
    let mut pdf = krilla::Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title.clone())
            .creator("Schooldesk".to_string())
            .creation_date(pdf_date(doc.generated_at)),
    );
    let total = plan.pages.len();
    for (n, page_plan) in plan.pages.iter().enumerate() {
        let layout = page_plan.table.map(|t| &plan.layouts[t]);
        let (w, h) = layout.map(|l| l.page).unwrap_or(plan.portrait);
        let settings = PageSettings::from_wh(w, h).ok_or_else(|| render_error("bad page size"))?;
        let mut page = pdf.start_page_with(settings);
        let mut s = page.surface();
        let mut pen = Pen { s: &mut s, shaper };

        let mut y = draw_page_header(&mut pen, doc, texts, w);
        match (page_plan.table, layout) {
            (Some(ti), Some(layout)) => {
                draw_table_page(&mut pen, &doc.tables[ti], layout, page_plan, texts, y);
            }
            _ => {
                y += HEADING_HEIGHT;
                pen.text(&texts.no_tables, false, BODY_SIZE, MARGIN, y, GREY_TEXT);
            }
        }

        // Footer: a rule, the generated time, the page number.
        let fy = h - MARGIN - FOOTER_HEIGHT + 6.0;
        pen.hline(MARGIN, w - MARGIN, fy, 0.5, RULE);
        let baseline = fy + SMALL_SIZE * 1.6;
        pen.text(
            &texts.generated,
            false,
            SMALL_SIZE,
            MARGIN,
            baseline,
            GREY_TEXT,
        );
        let label = format!("Page {} of {}", n + 1, total);
        pen.text_right(&label, false, SMALL_SIZE, w - MARGIN, baseline, BLACK);

        s.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| render_error(&format!("{e:?}")))
}

fn render_error(detail: &str) -> ExportError {
    ExportError::Render {
        format: "PDF",
        detail: detail.to_string(),
    }
}

fn pdf_date(t: DateTime<Utc>) -> krilla::metadata::DateTime {
    use chrono::{Datelike, Timelike};
    krilla::metadata::DateTime::new(t.year().clamp(0, 9999) as u16)
        .month(t.month() as u8)
        .day(t.day() as u8)
        .hour(t.hour() as u8)
        .minute(t.minute() as u8)
        .second(t.second() as u8)
        .utc_offset_hour(0)
        .utc_offset_minute(0)
}

/// Returns where the content below the header starts.
fn draw_page_header(pen: &mut Pen, doc: &Document, texts: &Texts, w: f32) -> f32 {
    let right = w - MARGIN;
    let mut y = MARGIN + SCHOOL_SIZE;
    // The school on the left and the freshness of the data on the right: the two things a
    // reader of a printout needs first.
    let as_of = shaper_width(pen, &texts.data_as_of, false, SMALL_SIZE);
    pen.text_fit(
        &doc.school,
        true,
        SCHOOL_SIZE,
        MARGIN,
        y,
        right - MARGIN - as_of - 12.0,
        Align::Left,
        BLACK,
    );
    pen.text_right(&texts.data_as_of, false, SMALL_SIZE, right, y, BLACK);
    y += TITLE_SIZE * 1.4;
    pen.text_fit(
        &doc.title,
        true,
        TITLE_SIZE,
        MARGIN,
        y,
        right - MARGIN,
        Align::Left,
        BLACK,
    );
    if let Some(subtitle) = &doc.subtitle {
        y += SMALL_SIZE * 1.5;
        pen.text_fit(
            subtitle,
            false,
            SMALL_SIZE,
            MARGIN,
            y,
            right - MARGIN,
            Align::Left,
            GREY_TEXT,
        );
    }
    y += 6.0;
    pen.hline(MARGIN, right, y, 0.75, BLACK);
    MARGIN + header_height(doc)
}

fn shaper_width(pen: &Pen, text: &str, bold: bool, size: f32) -> f32 {
    pen.shaper.shape(text, bold).width * size
}

fn draw_table_page(
    pen: &mut Pen,
    table: &Table,
    layout: &TableLayout,
    page: &PagePlan,
    texts: &Texts,
    top: f32,
) {
    let size = layout.size;
    let row_h = size * ROW_LEADING;
    let x0 = MARGIN;
    let x1 = MARGIN + layout.widths.iter().sum::<f32>();
    let baseline_in_row = row_h * 0.5 + size * 0.35;

    let heading = if page.continued {
        format!("{} (continued)", table.name)
    } else {
        table.name.clone()
    };
    let mut y = top + HEADING_SIZE * 1.3;
    pen.text_fit(
        &heading,
        true,
        HEADING_SIZE,
        MARGIN,
        y,
        x1.max(layout.page.0 - MARGIN) - MARGIN,
        Align::Left,
        BLACK,
    );
    y = top + HEADING_HEIGHT;

    // The header row, on every page.
    pen.rect(x0, y, x1 - x0, row_h, HEADER_FILL);
    let mut x = x0;
    for (column, &cw) in table.columns.iter().zip(&layout.widths) {
        let a = align(column.kind, &Cell::Empty);
        pen.text_fit(
            &column.title,
            true,
            size,
            x + CELL_PAD,
            y + baseline_in_row,
            cw - 2.0 * CELL_PAD,
            a,
            BLACK,
        );
        x += cw;
    }
    y += row_h;
    pen.hline(x0, x1, y, 0.75, BLACK);

    if table.rows.is_empty() && table.totals.is_empty() {
        pen.text(
            &texts.no_rows,
            false,
            size,
            x0 + CELL_PAD,
            y + baseline_in_row,
            GREY_TEXT,
        );
        return;
    }

    for r in page.rows.clone() {
        if r % 2 == 1 {
            pen.rect(x0, y, x1 - x0, row_h, ZEBRA_FILL);
        }
        draw_row(
            pen,
            table,
            layout,
            &table.rows[r],
            false,
            x0,
            y + baseline_in_row,
        );
        y += row_h;
    }
    if !page.totals.is_empty() {
        y += TOTALS_GAP;
        pen.hline(x0, x1, y, 1.0, BLACK);
        for t in page.totals.clone() {
            pen.rect(x0, y, x1 - x0, row_h, TOTALS_FILL);
            draw_row(
                pen,
                table,
                layout,
                &table.totals[t],
                true,
                x0,
                y + baseline_in_row,
            );
            y += row_h;
        }
        pen.hline(x0, x1, y, 1.0, BLACK);
    } else if !page.rows.is_empty() {
        pen.hline(x0, x1, y, 0.5, RULE);
    }
}

fn draw_row(
    pen: &mut Pen,
    table: &Table,
    layout: &TableLayout,
    row: &[Cell],
    bold: bool,
    x0: f32,
    baseline: f32,
) {
    let mut x = x0;
    for ((column, &cw), cell) in table.columns.iter().zip(&layout.widths).zip(row) {
        let text = cell.display();
        if !text.is_empty() {
            let a = align(column.kind, cell);
            pen.text_fit(
                &text,
                bold,
                layout.size,
                x + CELL_PAD,
                baseline,
                cw - 2.0 * CELL_PAD,
                a,
                BLACK,
            );
        }
        x += cw;
    }
}

/// Draws on one page's surface; y grows downwards from the top edge.
struct Pen<'p, 's, 'a> {
    s: &'p mut Surface<'s>,
    shaper: &'p Shaper<'a>,
}

impl Pen<'_, '_, '_> {
    fn text(&mut self, text: &str, bold: bool, size: f32, x: f32, baseline: f32, grey: u8) {
        let line = self.shaper.shape(text, bold);
        self.line(&line, size, x, baseline, grey);
    }

    fn text_right(
        &mut self,
        text: &str,
        bold: bool,
        size: f32,
        right: f32,
        baseline: f32,
        grey: u8,
    ) {
        let line = self.shaper.shape(text, bold);
        self.line(&line, size, right - line.width * size, baseline, grey);
    }

    /// Text in a box `max` wide starting at `x`, aligned within it, cut short if it must be.
    #[allow(clippy::too_many_arguments)]
    fn text_fit(
        &mut self,
        text: &str,
        bold: bool,
        size: f32,
        x: f32,
        baseline: f32,
        max: f32,
        align: Align,
        grey: u8,
    ) {
        let line = self.shaper.fit(text, bold, size, max.max(0.0));
        let w = line.width * size;
        let x = match align {
            Align::Left => x,
            Align::Right => x + max - w,
            Align::Center => x + (max - w) / 2.0,
        };
        self.line(&line, size, x, baseline, grey);
    }

    fn line(&mut self, line: &Line, size: f32, x: f32, baseline: f32, grey: u8) {
        self.s.set_stroke(None);
        self.s.set_fill(Some(fill(grey)));
        let mut x = x;
        for piece in &line.pieces {
            self.s.draw_glyphs(
                Point::from_xy(x, baseline),
                &piece.glyphs,
                self.shaper.krilla[piece.font].clone(),
                &piece.text,
                size,
                false,
            );
            x += piece.glyphs.iter().map(|g| g.x_advance).sum::<f32>() * size;
        }
    }

    fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, grey: u8) {
        let Some(rect) = Rect::from_xywh(x, y, w, h) else {
            return;
        };
        let mut pb = PathBuilder::new();
        pb.push_rect(rect);
        if let Some(path) = pb.finish() {
            self.s.set_stroke(None);
            self.s.set_fill(Some(fill(grey)));
            self.s.draw_path(&path);
        }
    }

    fn hline(&mut self, x0: f32, x1: f32, y: f32, width: f32, grey: u8) {
        let mut pb = PathBuilder::new();
        pb.move_to(x0, y);
        pb.line_to(x1, y);
        if let Some(path) = pb.finish() {
            self.s.set_fill(None);
            self.s.set_stroke(Some(Stroke {
                paint: luma::Color::new(grey).into(),
                width,
                ..Stroke::default()
            }));
            self.s.draw_path(&path);
            self.s.set_stroke(None);
        }
    }
}

fn fill(grey: u8) -> Fill {
    Fill {
        paint: luma::Color::new(grey).into(),
        opacity: NormalizedF32::ONE,
        rule: Default::default(),
    }
}
