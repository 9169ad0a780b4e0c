// Load the benchmark catalogue into EverShop with its own catalog services, the way its demo
// seeder (`evershop seed`) loads its products: `createCategory` for each category, then
// `createProduct` for each product (default attribute group, the "Standard Box" package the
// installer made) with its photos as EverShop's media uploader stores them: the file under
// `media/catalog/...`, the product image as `/assets/catalog/...`.
// Usage (in the EverShop app folder, its .env written by `evershop install`): node load.mjs STATE
import { copyFileSync, mkdirSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { pathToFileURL } from 'url';

const state = resolve(process.argv[2]);
const app = process.cwd();
const dist = join(app, 'node_modules', '@evershop', 'evershop', 'dist');
const load = (path) => import(pathToFileURL(join(dist, path)).href);
await import(pathToFileURL(join(app, 'node_modules', 'dotenv', 'config.js')).href); // the .env `install` wrote

const { createCategory, createProduct } = await load('modules/catalog/services/index.js');
const { pool } = await load('lib/postgres/connection.js');
const catalogue = JSON.parse(readFileSync(join(state, 'catalogue.json'), 'utf-8'));
const one = async (sql) => (await pool.query(sql)).rows[0];
const groupId = (await one('SELECT attribute_group_id FROM attribute_group ORDER BY 1 LIMIT 1')).attribute_group_id;
const packageId = (await one('SELECT package_id FROM package ORDER BY 1 LIMIT 1')).package_id;
const paragraph = (text, id) => [
  { id: `r_${id}`, size: 1, className: 'md:grid-cols-1',
    columns: [{ id: `c_${id}`, size: 1,
      data: { time: 1729900000000, version: '2.31.0', blocks: [{ id: `p_${id}`, type: 'paragraph', data: { text } }] } }] }
];

const categories = {};
for (const name of [...new Set(catalogue.products.map((p) => p.category))].sort()) {
  const slug = name.toLowerCase();
  const category = await createCategory(
    { name, url_key: slug, status: 1, include_in_nav: 1, show_products: 1, description: paragraph(name, slug),
      meta_title: name, meta_description: name },
    {}
  );
  categories[name] = category.insertId ?? category.category_id;
}
for (const product of catalogue.products) {
  const folder = join('catalog', product.sku.toLowerCase());
  mkdirSync(join(app, 'media', folder), { recursive: true });
  const images = product.images.map((name) => {
    copyFileSync(join(state, 'images', name), join(app, 'media', folder, name));
    return `/assets/${folder}/${name}`;
  });
  const slug = product.title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  await createProduct(
    { type: 'simple', name: product.title, url_key: slug, sku: product.sku, price: Number(product.price),
      ...(product.availability && product.availability !== 'in_stock'
        ? { qty: 0, manage_stock: 1, stock_availability: 0 } // sold out (EverShop has no price-less product)
        : { qty: 50, manage_stock: 1, stock_availability: 1 }),
      status: 1, visibility: 1, weight: 1,
      group_id: groupId, package_id: packageId, category_id: categories[product.category], images,
      description: paragraph(product.description, product.sku.toLowerCase()),
      meta_title: product.title, meta_description: product.description },
    {}
  );
}
console.log(`created ${catalogue.products.length} products`);
await pool.end();
